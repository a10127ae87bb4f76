"""Complaint first-contact assistant: shared services (catalog, tickets, agent API, channels)."""
