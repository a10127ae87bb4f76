"""Business hours at fixed instants, independent of when CI runs: open, just before and
just after closing, the weekend, a bank holiday, summer time; and the wait text the
customer reads at each (docs/design.md#empathy: say honestly when a person will pick up)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from actions.handoff import wait_text
from bot.catalog import load_catalog

LONDON = ZoneInfo("Europe/London")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


@pytest.mark.parametrize("moment, open_", [
    (at(2026, 11, 30, 10, 0), True),     # Monday morning
    (at(2026, 11, 30, 8, 59), False),    # a minute before opening
    (at(2026, 11, 30, 9, 0), True),      # opening minute
    (at(2026, 11, 30, 17, 59), True),    # just before closing
    (at(2026, 11, 30, 18, 0), False),    # closing time
    (at(2026, 11, 30, 18, 1), False),    # just after closing
    (at(2026, 11, 30, 22, 0), False),    # evening
    (at(2026, 12, 5, 15, 59), True),     # Saturday, shorter hours
    (at(2026, 12, 5, 16, 0), False),
    (at(2026, 12, 6, 12, 0), False),     # Sunday
    (at(2026, 12, 25, 12, 0), False),    # Christmas Day (catalog closed_on), a Friday
    (at(2026, 12, 28, 12, 0), False),    # substitute bank holiday, a Monday
    (at(2027, 7, 5, 9, 30), True),       # summer time: 08:30 UTC is 09:30 in London
    (at(2027, 7, 5, 18, 30), False),
])
def test_is_open_at_fixed_instants(moment, open_):
    assert load_catalog().is_open(moment) is open_
    # The same instant given in UTC gives the same answer.
    assert load_catalog().is_open(moment.astimezone(timezone.utc)) is open_


def test_the_wait_text_when_open_states_the_hours_from_the_catalog():
    text = wait_text(at(2026, 11, 30, 17, 59))
    assert text == "A colleague usually picks this up within 10 minutes during opening hours (Mon-Fri 9:00-18:00, Sat 10:00-16:00)."


@pytest.mark.parametrize("moment, reopens", [
    (at(2026, 11, 30, 18, 1), "Tuesday 1 December 2026, 09:00"),
    (at(2026, 12, 5, 16, 0), "Monday 7 December 2026, 09:00"),
    (at(2026, 12, 6, 12, 0), "Monday 7 December 2026, 09:00"),
    (at(2026, 12, 24, 18, 30), "Saturday 26 December 2026, 10:00"),
    (at(2026, 12, 26, 16, 30), "Tuesday 29 December 2026, 09:00"),  # after Saturday closing: Sunday, then the Monday bank holiday
    (at(2026, 11, 30, 7, 0), "Monday 30 November 2026, 09:00"),
])
def test_the_wait_text_when_closed_says_when_we_open(moment, reopens):
    assert wait_text(moment) == f"We're closed right now, so a colleague will pick this up when we open ({reopens})."


def test_hours_summary_follows_the_structured_hours():
    catalog = load_catalog()
    data = {**catalog.data, "business": {**catalog.business, "business_hours": {
        "mon": ["08:00", "20:00"], "tue": ["08:00", "20:00"], "thu": ["08:00", "20:00"], "sun": ["10:00", "14:00"]}}}
    assert type(catalog)(data).hours_summary() == "Mon-Tue 8:00-20:00, Thu 8:00-20:00, Sun 10:00-14:00"
