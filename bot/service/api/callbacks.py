"""The specialists' second-explanation callbacks (docs/design.md#second-explanation):

* ``POST /api/callbacks/{id}/attempt`` ``{"outcome": "done"|"no_answer"|"cancelled", "note"}``
  (the console's worklist), and ``POST /api/callbacks/{id}/done`` with the same body (the
  agent API's older name for it): one result of one call, under one set of rules
  (`apply_outcome`). An unanswered call moves the callback to the next free window of the
  catalog's business hours until the catalog's ``second_explanation.max_attempts`` calls were
  made; after the last one it is closed as no_answer;
* ``POST /api/callbacks/{id}/call``: ring the specialist's phone, then the customer (Twilio).

For specialists (role ``specialist``); with the bearer token, ``agent`` names the console
account acting (for a call, whose phone rings first).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Optional

from aiohttp import web

from bot.catalog import Catalog
from bot.service.config import callback_max_attempts
from bot.service.console.calls import CallError, start_callback_call
from bot.service.console.present import window_label
from bot.service.middlewares import ApiError
from bot.service.request_input import acting_agent, read_json, require_specialist, ticket_id_param, ticket_request
from bot.service.ticket_changes import load_ticket, record, save_ticket
from bot.service.typedefs import CONFIG_KEY, CONSOLE_KEY
from bot.tickets.model import CALLBACK_OUTCOMES, FINAL_CALLBACK_OUTCOMES, CallbackOutcome, CallbackState, HistoryAction, iso, utcnow
from bot.tickets.store import to_ts

DONE, NO_ANSWER, CANCELLED = CallbackOutcome.DONE, CallbackOutcome.NO_ANSWER, CallbackOutcome.CANCELLED


def pending_callback(ticket: Dict[str, Any]) -> Dict[str, Any]:
    """The ticket's callback, if a specialist still has to make it (409 otherwise)."""
    callback = ticket.get("callback") or {}
    if callback.get("status") == CallbackState.CANCELLED:
        raise ApiError(409, f"the customer cancelled the callback on {ticket['ticket_id']}")
    if callback.get("status") != CallbackState.OPTED_IN:
        raise ApiError(409, f"ticket {ticket['ticket_id']} has no opted-in callback")
    if callback.get("outcome") in FINAL_CALLBACK_OUTCOMES or callback.get("closed"):
        raise ApiError(409, f"callback on {ticket['ticket_id']} is already closed ({callback.get('outcome')})")
    return callback


def next_window(catalog: Optional[Catalog], now: datetime, current: Any) -> Optional[Dict[str, str]]:
    """The first bookable window (catalog.bookable_windows) after both now and the current one."""
    if catalog is None:
        return None
    after = max(now.timestamp(), to_ts((current or {}).get("start") if isinstance(current, dict) else None) or 0)
    for window in catalog.bookable_windows(now):
        if window["start"].timestamp() > after:
            return {"start": iso(window["start"]), "end": iso(window["end"])}
    return None


def apply_outcome(ticket: Dict[str, Any], agent: str, outcome: str, note: Optional[str],
                  catalog: Optional[Catalog], now: datetime) -> None:
    """A specialist's result of one call on the ticket's callback, whichever route it came by:
    a call made (done, no_answer) is counted and logged; an unanswered one moves the callback to
    the next window while calls are left, else closes it; done and cancelled close it. The
    history says who, what, and where the callback went."""
    callback = pending_callback(ticket)
    max_attempts = callback_max_attempts(catalog)
    attempts = int(callback.get("attempts") or 0) + (1 if outcome in (DONE, NO_ANSWER) else 0)
    callback.setdefault("attempt_log", []).append(
        {"at": iso(now), "by": agent, "outcome": outcome, "window": callback.get("window")})
    callback["attempts"] = attempts
    callback["outcome"] = outcome
    said: Optional[str] = None
    if outcome == NO_ANSWER and attempts < max_attempts:
        window = next_window(catalog, now, callback.get("window"))
        if window is not None:
            callback["previous_window"] = callback.get("window")
            callback["window"] = window
            said = f"attempt {attempts} of {max_attempts}: no answer; moved to {window_label(window, catalog)}"
        else:
            said = f"attempt {attempts} of {max_attempts}: no answer; no later window in the catalog's hours"
    else:
        callback["closed"] = True
        callback["completed_at"] = iso(now)
        if outcome == NO_ANSWER:
            said = f"attempt {attempts} of {max_attempts}: no answer; closed as {NO_ANSWER}"
    ticket["callback"] = callback
    record(ticket, agent, HistoryAction.callback_outcome(outcome), "; ".join(x for x in (said, note) if x) or None)


async def callback_outcome(request: web.Request) -> web.Response:
    """POST /api/callbacks/{id}/attempt and /done."""
    asked = await ticket_request(request)
    require_specialist("record a callback's result")
    outcome = asked.body.get("outcome")
    if outcome not in CALLBACK_OUTCOMES:
        raise ApiError(400, f"'outcome' must be one of {list(CALLBACK_OUTCOMES)}")
    ticket = await load_ticket(request, asked.ticket_id)
    apply_outcome(ticket, asked.agent, outcome, asked.note, request.app[CONFIG_KEY].catalog(), utcnow())
    return web.json_response(await save_ticket(request.app, ticket))


async def callback_call(request: web.Request) -> web.Response:
    ticket_id = ticket_id_param(request)
    body = await read_json(request)
    agent = acting_agent(body)
    require_specialist("start a callback call")
    config = request.app[CONSOLE_KEY]
    account = config.accounts.get(agent)
    if account is None or not account.is_specialist:
        raise ApiError(403, f"{agent!r} is not a specialist's console account")
    if not config.calls_enabled:
        raise ApiError(503, "outbound calls are not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_CALLER_ID)")
    if not account.phone:
        raise ApiError(409, f"no phone number is configured for {agent} (accounts file: phone)")
    ticket = await load_ticket(request, ticket_id)
    callback = pending_callback(ticket)
    customer_phone = (ticket.get("customer") or {}).get("phone")
    if not customer_phone:
        raise ApiError(409, f"ticket {ticket_id} has no customer phone number")
    catalog = request.app[CONFIG_KEY].catalog()
    now = utcnow()
    if catalog is not None and not catalog.is_open(now):
        raise ApiError(409, "outside business hours: callbacks are made while the centre is open")
    try:
        call = await start_callback_call(
            account_sid=config.twilio_account_sid, auth_token=config.twilio_auth_token,
            caller_id=config.twilio_caller_id, specialist_phone=account.phone,
            customer_phone=customer_phone, ticket_id=ticket_id, base_url=config.twilio_api_base_url)
    except CallError as exc:
        raise ApiError(exc.status, exc.message) from None
    callback.setdefault("calls", []).append({"sid": call["sid"], "at": iso(now), "by": agent, "to": account.phone})
    ticket["callback"] = callback
    record(ticket, agent, HistoryAction.CALLBACK_CALL_STARTED,
           f"Twilio call {call['sid']}: {account.phone} first, then the customer {customer_phone}")
    return web.json_response({"call": call, "ticket": await save_ticket(request.app, ticket)}, status=201)
