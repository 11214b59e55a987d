"""Specialty playbooks: schema, loading and rendering."""
