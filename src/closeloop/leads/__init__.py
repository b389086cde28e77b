"""Leads: clean intake, deduplication, scoring, follow-up rules (pure: no I/O)."""
