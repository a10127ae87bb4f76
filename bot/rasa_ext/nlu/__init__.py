"""Custom NLU components named in config.yml, and `pipeline`, which reads their settings from it
(for the tuning scripts and the tests)."""
