"""The settings every process shares (bot/settings.py): the environment variables an
operator sets, their defaults, and a clear error for one that can't be used."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot import settings
from bot.catalog import load_catalog
from bot.tickets import open_store
from bot.tickets.sqlite_store import SQLiteTicketStore


def test_the_defaults_when_nothing_is_set():
    shared = settings.Settings.from_env({})
    assert shared.catalog_path.endswith("policy/catalog.yml")
    assert shared.clock_start is None and shared.redis_url is None
    assert shared.redis_key_prefix == "complaints:" and shared.tickets_db == "var/tickets.db"


def test_each_variable_is_read_and_empty_means_unset():
    shared = settings.Settings.from_env({
        "CATALOG_PATH": "/etc/complaints/catalog.yml", "CLOCK_START": "2026-12-01T17:59:00+01:00",
        "REDIS_URL": "redis://cache:6379/2", "REDIS_KEY_PREFIX": "northwind:", "TICKETS_DB": "",
    })
    assert shared.catalog_path == "/etc/complaints/catalog.yml"
    assert shared.clock_start == datetime(2026, 12, 1, 16, 59, tzinfo=timezone.utc)
    assert shared.redis_url == "redis://cache:6379/2" and shared.redis_key_prefix == "northwind:"
    assert shared.tickets_db == "var/tickets.db"


@pytest.mark.parametrize("value", ["2026-12-01T17:59:00", "tomorrow at six"])
def test_an_unusable_clock_start_is_refused_by_name(value):
    with pytest.raises(ValueError, match="CLOCK_START"):
        settings.Settings.from_env({"CLOCK_START": value})


def test_the_processes_follow_the_environment(tmp_path, monkeypatch):
    catalog = tmp_path / "catalog.yml"
    catalog.write_text(open(settings.DEFAULT_CATALOG_PATH, encoding="utf-8").read())
    monkeypatch.setenv("CATALOG_PATH", str(catalog))
    monkeypatch.setenv("TICKETS_DB", str(tmp_path / "elsewhere.db"))
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert settings.current().catalog_path == str(catalog)
    assert load_catalog() is load_catalog(str(catalog))
    store = open_store()
    assert isinstance(store, SQLiteTicketStore) and store.path == str(tmp_path / "elsewhere.db")
    monkeypatch.setenv("CLOCK_START", (datetime.now(timezone.utc) - timedelta(days=1)).isoformat())
    assert settings.current().clock_start is not None
