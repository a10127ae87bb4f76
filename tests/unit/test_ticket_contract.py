"""The ticket contract (bot/tickets/model.py) holds wherever a ticket is written: what the
agents and specialists read is never a status or a record the contract doesn't know."""
from __future__ import annotations

import pytest

from bot.tickets.model import HistoryAction, new_ticket


@pytest.mark.parametrize("field,value", [("status", "handed-off"), ("callback", {"status": "opted-in", "window": None})])
async def test_a_status_outside_the_contract_is_refused_by_both_stores(store, field, value):
    # A misspelt status would drop the ticket from the agents' queue (or the specialists'
    # callback list) without anyone noticing.
    ticket = new_ticket("C-20261201-0001", "conv-1", "web")
    ticket[field] = value
    with pytest.raises(ValueError, match="unknown"):
        await store.save(ticket)
    assert await store.get("C-20261201-0001") is None


def test_a_callback_outcome_is_recorded_under_its_contract_name():
    assert HistoryAction.callback_outcome("no_answer") == "callback_no_answer"
    with pytest.raises(ValueError):
        HistoryAction.callback_outcome("no-answer")
