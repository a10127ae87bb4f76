"""Trackers, the domain and a real ticket store for testing actions directly (as the
action server would call them), shared by every test module that does."""
from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from bot import clock

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def domain() -> Dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text())


@pytest_asyncio.fixture
async def store(tmp_path, monkeypatch):
    monkeypatch.setenv("TICKETS_DB", str(tmp_path / "tickets.db"))
    monkeypatch.delenv("REDIS_URL", raising=False)
    await context.reset_ticket_store()
    store = await context.ticket_store()
    yield store
    await context.reset_ticket_store()


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def make_tracker(text: str = "", intent: Optional[str] = None, slots: Optional[Dict[str, Any]] = None,
                 metadata: Optional[Dict[str, Any]] = None, sender: str = "conv-1", events: Optional[List[Dict]] = None,
                 requested_slot: Optional[str] = None, entities: Optional[List[Dict[str, Any]]] = None,
                 parse: Optional[Dict[str, Any]] = None) -> Tracker:
    """A tracker whose latest message is `text` with `intent`; `parse` adds to (or replaces
    parts of) its parse data, e.g. an intent ranking or the category classifier's output."""
    user_event = {"event": "user", "text": text, "timestamp": time.time(), "metadata": metadata or {},
                  "input_channel": "rest", "parse_data": {"intent": {"name": intent, "confidence": 0.9}}}
    all_slots = {"requested_slot": requested_slot, **(slots or {})}
    return Tracker(
        sender_id=sender, slots=all_slots,
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "intent_ranking": [{"name": intent, "confidence": 0.9}],
                        "entities": entities or [], **(parse or {})},
        events=(events or []) + [user_event], paused=False, followup_action=None,
        active_loop={"name": "complaint_form"} if requested_slot else {}, latest_action_name="action_listen",
    )


def responses(dispatcher: CollectingDispatcher) -> List[Optional[str]]:
    return [m.get("response") for m in dispatcher.messages]


def slot_events(events) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


# Every action test runs at this instant unless it sets another: a Tuesday inside opening
# hours. Tests never read the real clock (a purchase "2 years ago" must not expire in CI).
FIXED_NOW = datetime(2026, 12, 1, 10, 30, tzinfo=ZoneInfo("Europe/London"))


@pytest.fixture(autouse=True)
def fixed_clock():
    clock.set_now(FIXED_NOW)
    yield FIXED_NOW
    clock.reset()
