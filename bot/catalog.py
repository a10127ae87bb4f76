"""The policy catalog: the business rules the assistant may state, loaded from YAML.

Nothing here knows about any particular category: every category, sub-reason,
limit, remedy and business hour comes from the catalog file, so another company
edits `policy/catalog.yml` instead of code.
"""
from __future__ import annotations

import calendar
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property, lru_cache
from typing import Any, Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo

import yaml

from bot import settings
from bot.catalog_validation import ABUSIVE_CUES, AUDIENCES, DAYS, STATEMENT_KINDS, CatalogError, purchase_limit, validate
from bot.tickets.ids import TicketIdFormat
from bot.tickets.model import FACT_UNAVAILABLE, STATUSES

DEFAULT_PATH = settings.DEFAULT_CATALOG_PATH
# The id of the choice after the remedies, none of them (catalog `no_remedy`).
NO_REMEDY_ID = "none"

__all__ = ["ABUSIVE_CUES", "Catalog", "CatalogError", "DAYS", "DEFAULT_PATH", "NO_REMEDY_ID", "Statement", "days_since", "human_date",
           "human_month", "load_catalog"]


@dataclass(frozen=True)
class Statement:
    """One honest-expectations statement (a disclosure once said)."""

    policy_id: str
    kind: str  # will | cannot | why | alternative
    text: str


class Catalog:
    def __init__(self, data: Dict[str, Any]):
        validate(data)
        self.data = data
        self.business = data["business"]
        self.categories: Dict[str, Dict[str, Any]] = data["categories"]
        self.remedies: Dict[str, Dict[str, str]] = data.get("remedies", {})
        self.tz = ZoneInfo(self.business["timezone"])
        # Bank holidays and other whole days closed, as ISO dates.
        self._closed_on = {str(d) for d in self.business.get("closed_on") or []}
        order = self.business["order_id"]
        self.order_pattern = re.compile(order["pattern"])
        self.order_bare_pattern = re.compile(order.get("bare_digits", r"\b(\d{6,10})\b"))
        self.order_prefix = order.get("prefix", "")
        self._deadlines: Dict[str, Optional[Tuple[str, int]]] = {}
        for cat in self.categories.values():
            for sub in cat["sub_reasons"].values():
                previous: Optional[Tuple[str, int]] = None
                for variant in sub["variants"]:
                    own = purchase_limit(variant)
                    self._deadlines[variant["id"]] = own if own is not None else previous
                    previous = own

    # ---- the business's forms (required and validated: no country is assumed in code) ----
    @property
    def currency(self) -> str:
        """ISO 4217: amounts said without a currency are in this one."""
        return str(self.business["currency"])

    @property
    def locale(self) -> str:
        """How numbers and money are written here (decimal point, grouping)."""
        return str(self.business["locale"])

    @property
    def phone_region(self) -> str:
        """The region of a phone number given without its international code."""
        return str(self.business["default_phone_region"])

    @cached_property
    def ticket_ids(self) -> TicketIdFormat:
        """The reference format (prefix and counter width), read from the catalog once."""
        return TicketIdFormat.from_business(self.business)

    @property
    def callback_max_attempts(self) -> int:
        """Calls a specialist makes for one callback before closing it as no_answer."""
        return int((self.data.get("second_explanation") or {}).get("max_attempts", 2))

    def status_label(self, status: str, audience: str = "for_agents") -> str:
        """A ticket status in words, for_agents (the console) or for_customers (the chat)."""
        if audience not in AUDIENCES:
            raise ValueError(f"audience must be one of {AUDIENCES}")
        return str(((self.data.get("statuses") or {}).get(status) or {}).get(audience) or status)

    def status_labels(self, audience: str = "for_agents") -> Dict[str, str]:
        return {status: self.status_label(status, audience) for status in STATUSES}

    # ---- wording of the read-back and the fixed buttons ----------------------
    @property
    def facts(self) -> Dict[str, Dict[str, Any]]:
        """Per key fact (the contract's FACT_NAMES): its `label` and the words `named_by`
        which a customer names it; facts.product also lists the `kinds` and `brands` sold."""
        return self.data["facts"]

    @property
    def topic(self) -> Dict[str, Any]:
        """What the complaint is about, corrected at the read-back like a fact."""
        return self.data["read_back"]["topic"]

    @property
    def no_remedy(self) -> Dict[str, str]:
        """The choice after the remedies: none of them (id "none")."""
        return {"id": NO_REMEDY_ID, **self.data["no_remedy"]}

    def buttons(self, name: str) -> List[Dict[str, str]]:
        """One of the fixed button sets (catalog `buttons:`), as the channels take them."""
        return [{"title": title, "payload": f"/{intent}"} for intent, title in self.button_answers(name)]

    def phone_phrase(self, name: str) -> str:
        """What the phone line itself says (catalog `phone:`): silence, transfers, farewell."""
        return str(self.data["phone"][name]).strip()

    def button_answers(self, name: str) -> List[Tuple[str, str]]:
        """(intent, title) of a fixed button set, in the order shown."""
        return [next(iter(answer.items())) for answer in self.data["buttons"][name]]

    # ---- loading -------------------------------------------------------------
    @classmethod
    def from_file(cls, path: os.PathLike | str) -> "Catalog":
        with open(path, encoding="utf-8") as handle:
            return cls(yaml.safe_load(handle))

    # ---- categories ----------------------------------------------------------
    def category(self, code: Optional[str]) -> Dict[str, Any]:
        return self.categories.get(code or "other") or self.categories["other"]

    def required_facts(self, code: Optional[str]) -> List[str]:
        return list(self.category(code).get("required_facts", []))

    def sub_reason_for(self, code: Optional[str], text: str) -> str:
        """The sub-reason whose keywords best match the text (first listed wins ties)."""
        return self.sub_reason_named(code, text) or self.category(code)["default_sub_reason"]

    def sub_reason_named(self, code: Optional[str], text: str) -> Optional[str]:
        """The sub-reason whose keywords best match the text (first listed wins ties); None
        when the text names none."""
        cat = self.category(code)
        lowered = f" {text.lower()} "
        best, best_hits = None, 0
        for sub, spec in cat["sub_reasons"].items():
            hits = sum(1 for kw in spec.get("keywords", []) if _contains_phrase(lowered, kw))
            if hits > best_hits:
                best, best_hits = sub, hits
        return best

    def select_variant(self, code: Optional[str], sub_reason: Optional[str], facts: Dict[str, Any], today: date) -> Dict[str, Any]:
        cat = self.category(code)
        sub = cat["sub_reasons"].get(sub_reason or "") or cat["sub_reasons"][cat["default_sub_reason"]]
        for variant in sub["variants"]:
            limit = purchase_limit(variant)
            if limit is None:
                return variant
            last_day = _after(facts.get("purchase_date"), limit)
            if last_day is not None and today <= date.fromisoformat(last_day):
                return variant
        return sub["variants"][-1]

    def statements(self, variant: Dict[str, Any], facts: Dict[str, Any], today: date, month: Optional[str] = None) -> List[Statement]:
        """The variant's statements with the facts in; with only a purchase `month`, the
        deadline is said as a month too ("until March 2027")."""
        limit = self._deadline_limit(variant)
        days = _month_days(month, today) if facts.get("purchase_date") in (None, "", FACT_UNAVAILABLE) else None
        deadline = human_month(_after(days[0], limit)) if days else human_date(_after(facts.get("purchase_date"), limit))
        values = {
            "order_id": facts.get("order_id") or "",
            "purchase_date": human_date(facts.get("purchase_date")),
            "amount": facts.get("amount") or "",
            "product": facts.get("product") or "your product",
            "days_since_purchase": days_since(facts.get("purchase_date"), today) or "",
            "deadline": deadline,
        }
        out = []
        for kind in STATEMENT_KINDS:
            if variant.get(kind):
                out.append(Statement(f"{variant['id']}.{kind}", kind, variant[kind].format(**values)))
        return out

    def month_variant(self, code: Optional[str], sub_reason: Optional[str], facts: Dict[str, Any], month: Optional[str],
                      today: date) -> Optional[Dict[str, Any]]:
        """The variant a purchase month ("2025-03", the day not known) selects, when every day
        of it the customer could have bought on selects the same one and its statements need
        no exact day (no {purchase_date}, no {days_since_purchase}, and one deadline month);
        None when the day decides (docs/design.md#precise-facts)."""
        days = _month_days(month, today)
        if days is None:
            return None
        first, last = (self.select_variant(code, sub_reason, {**facts, "purchase_date": d}, today) for d in days)
        if first["id"] != last["id"]:
            return None
        texts = " ".join(str(first.get(kind) or "") for kind in STATEMENT_KINDS)
        if "{purchase_date}" in texts or "{days_since_purchase}" in texts:
            return None
        limit = self._deadline_limit(first)
        if "{deadline}" in texts and len({(_after(d, limit) or "")[:7] for d in days}) != 1:
            return None
        return first

    def _deadline_limit(self, variant: Dict[str, Any]) -> Optional[Tuple[str, int]]:
        """The limit a variant's text talks about: its own, or (for the fallback variant,
        'warranty ended on {deadline}') the one of the variant before it."""
        return self._deadlines.get(variant.get("id"))

    def remedy_options(self, variant: Dict[str, Any]) -> List[Dict[str, str]]:
        return [{"id": rid, **self.remedies[rid]} for rid in variant.get("remedies") or []]

    # ---- business hours and callback windows --------------------------------
    def opening(self, day: date) -> Optional[tuple]:
        hours = self.business.get("business_hours", {}).get(DAYS[day.weekday()])
        if not hours or day.isoformat() in self._closed_on:
            return None
        start, end = (time.fromisoformat(h) for h in hours)
        return (datetime.combine(day, start, self.tz), datetime.combine(day, end, self.tz))

    def hours_summary(self) -> str:
        """The weekly hours in words, from the structured hours (the catalog says them once):
        "Mon-Fri 9:00-18:00, Sat 10:00-16:00"."""
        hours = self.business.get("business_hours", {})
        groups: List[List[str]] = []
        for day in DAYS:
            span = hours.get(day)
            if groups and span and hours.get(groups[-1][-1]) == span and DAYS.index(groups[-1][-1]) == DAYS.index(day) - 1:
                groups[-1].append(day)
            elif span:
                groups.append([day])

        def clock(text: str) -> str:
            return text.lstrip("0") if not text.startswith("00") else text

        parts = []
        for group in groups:
            start, end = hours[group[0]]
            days = group[0].title() if len(group) == 1 else f"{group[0].title()}-{group[-1].title()}"
            parts.append(f"{days} {clock(start)}-{clock(end)}")
        return ", ".join(parts)

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.tz)
        hours = self.opening(local.date())
        return bool(hours and hours[0] <= local < hours[1])

    def next_open(self, now: datetime) -> Optional[datetime]:
        local = now.astimezone(self.tz)
        for offset in range(0, 15):  # a week, plus bank holidays next to a weekend
            hours = self.opening(local.date() + timedelta(days=offset))
            if hours and hours[1] > local:
                return max(hours[0], local)
        return None

    def bookable_windows(self, now: datetime) -> List[Dict[str, datetime]]:
        """Every window a callback can be booked in, day by day over the next two weeks, all
        inside business hours, starting tomorrow at the earliest so a specialist has the
        ticket before calling."""
        length = timedelta(hours=self.second_explanation.get("window_hours", 2))
        local = now.astimezone(self.tz)
        windows: List[Dict[str, datetime]] = []
        for offset in range(1, 15):
            hours = self.opening(local.date() + timedelta(days=offset))
            start = hours[0] if hours else None
            while hours and start + length <= hours[1]:
                windows.append({"start": start, "end": start + length})
                start += length
        return windows

    def callback_windows(self, now: datetime) -> List[Dict[str, datetime]]:
        """The windows offered as buttons: `windows_offered` of the bookable ones, at most
        `windows_per_day` on one day, spread over it (the first and the last of the day for
        two), so that a customer who can't take a call tomorrow still has a choice."""
        count = self.second_explanation.get("windows_offered", 4)
        per_day = self.second_explanation.get("windows_per_day") or count
        by_day: Dict[date, List[Dict[str, datetime]]] = {}
        for window in self.bookable_windows(now):
            by_day.setdefault(window["start"].date(), []).append(window)
        offered: List[Dict[str, datetime]] = []
        for windows in by_day.values():
            k = min(per_day, len(windows))
            picks = sorted({round(i * (len(windows) - 1) / (k - 1)) for i in range(k)}) if k > 1 else [0]
            offered.extend(windows[i] for i in picks)
            if len(offered) >= count:
                break
        return offered[:count]

    # ---- second explanation --------------------------------------------------
    @property
    def second_explanation(self) -> Dict[str, Any]:
        return self.data.get("second_explanation", {})

    def is_whitelisted(self, *identities: Optional[str]) -> bool:
        listed = {str(x).lower() for x in self.second_explanation.get("whitelist", [])}
        return any(i and i.lower() in listed for i in identities)


def _contains_phrase(haystack: str, phrase: str) -> bool:
    return re.search(r"(?<![a-z0-9])" + re.escape(phrase.lower()) + r"(?![a-z0-9])", haystack) is not None


def days_since(iso_day: Optional[str], today: date) -> Optional[int]:
    if not iso_day:
        return None
    try:
        return (today - date.fromisoformat(iso_day)).days
    except ValueError:
        return None


def human_date(iso_day: Optional[str]) -> str:
    """'2023-01-15' -> '15 January 2023': unambiguous in every English locale."""
    if not iso_day:
        return ""
    try:
        day = date.fromisoformat(iso_day)
    except ValueError:
        return iso_day
    return f"{day.day} {day:%B %Y}"


def human_month(iso: Optional[str]) -> str:
    """'2025-03' or '2025-03-14' -> 'March 2025'."""
    try:
        return date.fromisoformat(f"{iso[:7]}-01").strftime("%B %Y") if iso else ""
    except ValueError:
        return iso or ""


def _month_days(month: Optional[str], today: date) -> Optional[Tuple[str, str]]:
    """The first and the last day of a month ("2025-03") the customer could have bought on
    (not after today), as ISO days; None for no month, or one not begun."""
    try:
        first = date.fromisoformat(f"{month}-01") if month else None
    except ValueError:
        return None
    if first is None or first > today:
        return None
    last = min(date(first.year, first.month, calendar.monthrange(first.year, first.month)[1]), today)
    return first.isoformat(), last.isoformat()


def _after(iso_day: Optional[str], limit: Optional[Tuple[str, int]]) -> Optional[str]:
    """The last day inside a purchase-age limit: n days on, or the same date n calendar months
    on (the month's last day when it has no such date: 29 Feb + 24 months is 28 Feb)."""
    if not iso_day or limit is None:
        return None
    try:
        day = date.fromisoformat(iso_day)
    except ValueError:
        return None
    unit, n = limit
    if unit == "days":
        return (day + timedelta(days=n)).isoformat()
    months = day.month - 1 + n
    year, month = day.year + months // 12, months % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1])).isoformat()


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> Catalog:
    return Catalog.from_file(path)


def load_catalog(path: Optional[str] = None) -> Catalog:
    """The catalog at CATALOG_PATH (or the default, bot/settings.py); reloaded when the file changes."""
    resolved = str(path or settings.current().catalog_path)
    return _load(resolved, os.path.getmtime(resolved))
