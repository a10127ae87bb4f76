"""The policy catalog: the business rules the assistant may state, loaded from YAML.

Nothing here knows about any particular category: every category, sub-reason,
limit, remedy and business hour comes from the catalog file, so another company
edits `policy/catalog.yml` instead of code.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

import yaml

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "policy" / "catalog.yml"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FACTS = ("order_id", "purchase_date", "amount", "product")


class CatalogError(ValueError):
    """The catalog file is not usable; the message says where."""


@dataclass(frozen=True)
class Statement:
    """One honest-expectations statement (a disclosure once said)."""

    policy_id: str
    kind: str  # will | cannot | why | alternative
    text: str


class Catalog:
    def __init__(self, data: Dict[str, Any]):
        self.data = data
        self.business = data["business"]
        self.categories: Dict[str, Dict[str, Any]] = data["categories"]
        self.remedies: Dict[str, Dict[str, str]] = data.get("remedies", {})
        self.tz = ZoneInfo(self.business.get("timezone", "UTC"))
        # Bank holidays and other whole days closed, as ISO dates (validated below).
        self._closed_on = {str(d) for d in self.business.get("closed_on") or []}
        order = self.business["order_id"]
        self.order_pattern = re.compile(order["pattern"])
        self.order_bare_pattern = re.compile(order.get("bare_digits", r"\b(\d{6,10})\b"))
        self.order_prefix = order.get("prefix", "")
        self._validate()
        self._deadlines: Dict[str, Optional[int]] = {}
        for cat in self.categories.values():
            for sub in cat["sub_reasons"].values():
                previous: Optional[int] = None
                for variant in sub["variants"]:
                    own = (variant.get("when") or {}).get("max_days_since_purchase")
                    self._deadlines[variant["id"]] = own if own is not None else previous
                    previous = own

    # ---- loading -------------------------------------------------------------
    @classmethod
    def from_file(cls, path: os.PathLike | str) -> "Catalog":
        with open(path, encoding="utf-8") as handle:
            return cls(yaml.safe_load(handle))

    def _validate(self) -> None:
        seen_ids = set()
        for rid, remedy in self.remedies.items():
            missing = [k for k in ("label", "speakable", "next_step") if not remedy.get(k)]
            if missing:
                raise CatalogError(f"remedies.{rid}: missing {', '.join(missing)}")
        for code, cat in self.categories.items():
            for key in ("in_plain_words", "in_few_words"):
                if not isinstance(cat.get(key), str) or not cat[key].strip():
                    raise CatalogError(f"categories.{code}.{key}: say the category in the customer's words")
            for fact in cat.get("required_facts", []):
                if fact not in FACTS:
                    raise CatalogError(f"categories.{code}.required_facts: unknown fact {fact!r}")
            subs = cat.get("sub_reasons") or {}
            if cat.get("default_sub_reason") not in subs:
                raise CatalogError(f"categories.{code}.default_sub_reason must name one of its sub_reasons")
            for sub, spec in subs.items():
                variants = spec.get("variants") or []
                if not variants:
                    raise CatalogError(f"categories.{code}.sub_reasons.{sub}: no variants")
                if "when" in variants[-1]:
                    raise CatalogError(f"categories.{code}.sub_reasons.{sub}: the last variant must have no 'when' (it is the fallback)")
                for variant in variants:
                    if not variant.get("id") or variant["id"] in seen_ids:
                        raise CatalogError(f"categories.{code}.sub_reasons.{sub}: every variant needs a unique id ({variant.get('id')!r})")
                    seen_ids.add(variant["id"])
                    remedies = variant.get("remedies") or []
                    unknown = [r for r in remedies if r not in self.remedies]
                    if unknown:
                        raise CatalogError(f"policy {variant.get('id')}: unknown remedies {unknown}")
                    if remedies and not 2 <= len(remedies) <= 4:
                        raise CatalogError(f"policy {variant.get('id')}: offer 2-4 remedies (docs/design.md#empathy)")
                dated = any("max_days_since_purchase" in (v.get("when") or {}) for v in variants)
                if dated and "purchase_date" not in cat.get("required_facts", []):
                    raise CatalogError(f"categories.{code}: variants depend on purchase_date, so it must be a required fact")
        self._validate_formats()
        understanding = self.data.get("understanding") or {}
        for key in ("confidence_floor", "margin"):
            value = understanding.get(key, 0.0)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise CatalogError(f"understanding.{key} must be a number between 0 and 1")
        if not 2 <= int(understanding.get("max_options", 3)) <= 3:
            raise CatalogError("understanding.max_options: offer 2 or 3 categories")
        for day in self.business.get("business_hours", {}):
            if day not in DAYS:
                raise CatalogError(f"business.business_hours: unknown day {day!r}")
        for closed in self._closed_on:
            try:
                date.fromisoformat(closed)
            except ValueError:
                raise CatalogError(f"business.closed_on: {closed!r} is not a date like 2026-12-25") from None
        priority = self.data.get("priority") or {}
        levels = priority.get("levels") or {}
        for flag, level in ((priority.get("risk") or {}).get("min_level") or {}).items():
            if level not in levels:
                raise CatalogError(f"priority.risk.min_level.{flag}: unknown level {level!r} (levels: {sorted(levels)})")

    def _validate_formats(self) -> None:
        """The business facts the fact parsers read (actions/parsing/spec.py)."""
        b = self.business
        if not re.fullmatch(r"[A-Z]{3}", str(b.get("currency", "GBP"))):
            raise CatalogError("business.currency must be an ISO 4217 code such as GBP")
        if not re.fullmatch(r"[a-z]{2,3}(?:_[A-Z]{2})?", str(b.get("locale", "en_GB"))):
            raise CatalogError("business.locale must look like en_GB")
        if not re.fullmatch(r"[A-Za-z]{1,6}-?", str(b.get("ticket_id_prefix", "C-"))):
            raise CatalogError("business.ticket_id_prefix must be 1-6 letters, optionally followed by '-'")
        digits = b.get("ticket_id_counter_digits", 4)
        if not isinstance(digits, int) or isinstance(digits, bool) or not 1 <= digits <= 9:
            raise CatalogError("business.ticket_id_counter_digits must be a whole number from 1 to 9")

    # ---- categories ----------------------------------------------------------
    def category(self, code: Optional[str]) -> Dict[str, Any]:
        return self.categories.get(code or "other") or self.categories["other"]

    def required_facts(self, code: Optional[str]) -> List[str]:
        return list(self.category(code).get("required_facts", []))

    def sub_reason_for(self, code: Optional[str], text: str) -> str:
        """The sub-reason whose keywords best match the text (first listed wins ties)."""
        cat = self.category(code)
        lowered = f" {text.lower()} "
        best, best_hits = cat["default_sub_reason"], 0
        for sub, spec in cat["sub_reasons"].items():
            hits = sum(1 for kw in spec.get("keywords", []) if _contains_phrase(lowered, kw))
            if hits > best_hits:
                best, best_hits = sub, hits
        return best

    def select_variant(self, code: Optional[str], sub_reason: Optional[str], facts: Dict[str, Any], today: date) -> Dict[str, Any]:
        cat = self.category(code)
        sub = cat["sub_reasons"].get(sub_reason or "") or cat["sub_reasons"][cat["default_sub_reason"]]
        age = days_since(facts.get("purchase_date"), today)
        for variant in sub["variants"]:
            limit = (variant.get("when") or {}).get("max_days_since_purchase")
            if limit is None or (age is not None and age <= limit):
                return variant
        return sub["variants"][-1]

    def statements(self, variant: Dict[str, Any], facts: Dict[str, Any], today: date) -> List[Statement]:
        limit = self._deadline_days(variant)
        values = {
            "order_id": facts.get("order_id") or "",
            "purchase_date": human_date(facts.get("purchase_date")),
            "amount": facts.get("amount") or "",
            "product": facts.get("product") or "your product",
            "days_since_purchase": days_since(facts.get("purchase_date"), today) or "",
            "deadline": human_date(_add_days(facts.get("purchase_date"), limit)),
        }
        out = []
        for kind in ("will", "cannot", "why", "alternative"):
            if variant.get(kind):
                out.append(Statement(f"{variant['id']}.{kind}", kind, variant[kind].format(**values)))
        return out

    def _deadline_days(self, variant: Dict[str, Any]) -> Optional[int]:
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

    def callback_windows(self, now: datetime, count: Optional[int] = None) -> List[Dict[str, datetime]]:
        """The next bookable windows, all inside business hours, starting tomorrow at the
        earliest so a specialist has the ticket before calling."""
        cfg = self.data.get("second_explanation", {})
        count = count or cfg.get("windows_offered", 4)
        length = timedelta(hours=cfg.get("window_hours", 2))
        local = now.astimezone(self.tz)
        windows: List[Dict[str, datetime]] = []
        for offset in range(1, 15):
            hours = self.opening(local.date() + timedelta(days=offset))
            if not hours:
                continue
            start = hours[0]
            while start + length <= hours[1] and len(windows) < count:
                windows.append({"start": start, "end": start + length})
                start += length
            if len(windows) >= count:
                break
        return windows

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


def _add_days(iso_day: Optional[str], days: Optional[int]) -> Optional[str]:
    if not iso_day or days is None:
        return None
    try:
        return (date.fromisoformat(iso_day) + timedelta(days=days)).isoformat()
    except ValueError:
        return None


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> Catalog:
    return Catalog.from_file(path)


def load_catalog(path: Optional[str] = None) -> Catalog:
    """The catalog at CATALOG_PATH (or the default); reloaded when the file changes."""
    resolved = str(path or os.environ.get("CATALOG_PATH") or DEFAULT_PATH)
    return _load(resolved, os.path.getmtime(resolved))
