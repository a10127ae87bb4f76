"""What the console shows of a ticket beyond the ticket itself: labels and tips from the
policy catalog, times in the business's timezone. Added under ``view`` (the ticket stays the
fixed contract)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from bot.catalog import DAYS, Catalog
from bot.service.console.ticket_webhook import handed_off_at
from bot.tickets.model import HistoryAction, utcnow
from bot.tickets.store import to_ts


def local(moment: Any, catalog: Optional[Catalog]) -> Optional[datetime]:
    ts = to_ts(moment)
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, catalog.tz if catalog else timezone.utc)


def window_label(window: Any, catalog: Optional[Catalog]) -> Optional[str]:
    if not isinstance(window, dict):
        return None
    start, end = local(window.get("start"), catalog), local(window.get("end"), catalog)
    if start is None:
        return None
    text = f"{start:%a} {start.day} {start:%b} {start:%H:%M}"
    return f"{text}\u2013{end:%H:%M}" if end is not None else text


def hours_text(catalog: Optional[Catalog]) -> str:
    if catalog is None:
        return ""
    hours = catalog.business.get("business_hours") or {}
    parts = [f"{day.capitalize()} {hours[day][0]}\u2013{hours[day][1]}" for day in DAYS if hours.get(day)]
    return ", ".join(parts) + f" ({catalog.business.get('timezone', 'UTC')})"


def view_of(ticket: Dict[str, Any], catalog: Optional[Catalog]) -> Dict[str, Any]:
    data = catalog.data if catalog else {}
    category = ticket.get("category")
    categories = data.get("categories") or {}
    remedies = data.get("remedies") or {}
    remedy = ticket.get("remedy") or {}
    ids = list(remedy.get("offered") or []) + ([remedy["chosen"]] if remedy.get("chosen") else [])
    callback = ticket.get("callback") or {}
    handoffs = [h for h in ticket.get("history") or [] if isinstance(h, dict) and h.get("action") == HistoryAction.HANDED_OFF]
    handed_off = bool(handoffs)
    return {
        "category_label": (categories.get(category) or {}).get("label") if category else None,
        "style_tip": (data.get("style_tips") or {}).get(ticket.get("style_hint") or ""),
        "remedy_labels": {rid: (remedies.get(rid) or {}).get("label", rid) for rid in ids if isinstance(rid, str)},
        "handed_off_at": handed_off_at(ticket) if handed_off else None,
        # Why the latest hand-off happened, as the assistant recorded it (customer asked, not
        # understood, high risk, silence on the phone ...).
        "handoff_reason": (handoffs[-1].get("note") or None) if handed_off else None,
        "callback_window_label": window_label(callback.get("window"), catalog),
        "callback_attempts": int(callback.get("attempts") or 0),
    }


def decorate(kind: str, tickets: List[Dict[str, Any]], catalog: Optional[Catalog],
             now: Optional[datetime] = None) -> Dict[str, Any]:
    """The live feed's message for `kind` ("handoffs", "callbacks", or one "ticket")."""
    shown = [{**ticket, "view": view_of(ticket, catalog)} for ticket in tickets]
    if kind == "ticket":
        return {"type": "ticket", "ticket": shown[0]}
    message: Dict[str, Any] = {"type": kind, kind: shown}
    if kind == "callbacks":
        moment = now or utcnow()
        message["open_now"] = bool(catalog and catalog.is_open(moment))
        nxt = catalog.next_open(moment) if catalog else None
        message["next_open"] = f"{nxt:%a} {nxt.day} {nxt:%b} {nxt:%H:%M}" if nxt else None
        message["hours"] = hours_text(catalog)
    return message
