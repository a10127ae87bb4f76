"""Tracker and lock stores for endpoints.yml (SQLite) and endpoints.redis.yml (Redis)."""
