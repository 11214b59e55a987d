"""IMG Peer Bot: networking playbooks, contact tracker and nudges for IMGs."""

__version__ = "0.1.0"
