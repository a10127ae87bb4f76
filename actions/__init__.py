"""Custom actions of the complaint assistant, split by concern (see README)."""
