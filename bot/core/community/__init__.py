"""Buddy pairing, peer-mentor assignment and progress charts for community circles (pure functions)."""
