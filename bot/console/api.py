"""API endpoints the console adds (bearer token or session, like the rest of /api):

* ``GET  /api/tickets/{id}/conversation``: the conversation as Rasa has it (customer, assistant
  and agent messages, including what the customer wrote after the hand-off);
* ``POST /api/callbacks/{id}/attempt`` ``{"outcome": "done"|"no_answer"|"cancelled", "note"}``:
  the specialists' worklist result, with one retry: the first no-answer moves the callback to
  the next free window of the catalog's business hours, the second closes it as no_answer;
* ``POST /api/callbacks/{id}/call``: ring the specialist's phone, then the customer (Twilio).

Callback actions are for specialists (role ``specialist``); with the bearer token, ``agent``
names the console account acting (for a call, whose phone rings first).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Optional

from aiohttp import web

from bot.agent_api.config import STORE_KEY
from bot.agent_api.middlewares import CURRENT_SESSION, ApiError
from bot.agent_api.views import _agent, _body, _load, _note, _record, _save, _ticket_id
from bot.console.calls import CallError, start_callback_call
from bot.console.keys import CONSOLE_KEY, FEED_KEY
from bot.console.present import catalog_or_none, window_label
from bot.tickets.model import CALLBACK_OUTCOMES, iso, utcnow
from bot.tickets.store import FINAL_CALLBACK_OUTCOMES, to_ts

MAX_CALLBACK_ATTEMPTS = 2  # the first no-answer is retried once, in the next window


def _require_specialist(action: str) -> None:
    session = CURRENT_SESSION.get()
    if session is not None and not session.is_specialist:
        raise ApiError(403, f"only a specialist can {action}")


def _pending_callback(ticket: Dict[str, Any]) -> Dict[str, Any]:
    callback = ticket.get("callback") or {}
    if callback.get("status") == "cancelled":
        raise ApiError(409, f"the customer cancelled the callback on {ticket['ticket_id']}")
    if callback.get("status") != "opted_in":
        raise ApiError(409, f"ticket {ticket['ticket_id']} has no opted-in callback")
    if callback.get("outcome") in FINAL_CALLBACK_OUTCOMES or callback.get("closed"):
        raise ApiError(409, f"callback on {ticket['ticket_id']} is already closed ({callback.get('outcome')})")
    return callback


def next_window(catalog, now: datetime, current: Any) -> Optional[Dict[str, str]]:
    """The first bookable window (catalog.callback_windows) after both now and the current one."""
    if catalog is None:
        return None
    after = max(now.timestamp(), to_ts((current or {}).get("start") if isinstance(current, dict) else None) or 0)
    for window in catalog.callback_windows(now, count=12):
        if window["start"].timestamp() > after:
            return {"start": iso(window["start"]), "end": iso(window["end"])}
    return None


async def conversation(request: web.Request) -> web.Response:
    from bot.webchat import rasa, transcript

    ticket = await _load(request, _ticket_id(request))
    conversation_id = ticket.get("conversation_id")
    if not conversation_id:
        raise ApiError(409, f"ticket {ticket['ticket_id']} has no conversation")
    try:
        tracker = await rasa.get_tracker(request.app, str(conversation_id))
    except rasa.RasaUnavailable as exc:
        raise ApiError(502, f"rasa unreachable: {exc}") from None
    from bot.console.views import readable

    shown = readable(transcript.from_tracker(tracker))
    return web.json_response({**shown, "conversation_id": conversation_id, "channel": ticket.get("channel")})


async def callback_attempt(request: web.Request) -> web.Response:
    ticket_id = _ticket_id(request)
    body = await _body(request)
    agent, note = _agent(body), _note(body)
    _require_specialist("record a callback's result")
    outcome = body.get("outcome")
    if outcome not in CALLBACK_OUTCOMES:
        raise ApiError(400, f"'outcome' must be one of {list(CALLBACK_OUTCOMES)}")
    ticket = await _load(request, ticket_id)
    callback = _pending_callback(ticket)
    now = utcnow()
    attempts = int(callback.get("attempts") or 0) + (1 if outcome in ("done", "no_answer") else 0)
    callback.setdefault("attempt_log", []).append(
        {"at": iso(now), "by": agent, "outcome": outcome, "window": callback.get("window")})
    callback["attempts"] = attempts
    callback["outcome"] = outcome
    if outcome == "no_answer" and attempts < MAX_CALLBACK_ATTEMPTS:
        catalog = catalog_or_none(request.app[CONSOLE_KEY].catalog_path)
        window = next_window(catalog, now, callback.get("window"))
        if window is not None:
            callback["previous_window"] = callback.get("window")
            callback["window"] = window
            said = f"attempt {attempts} of {MAX_CALLBACK_ATTEMPTS}: no answer; moved to {window_label(window, catalog)}"
        else:
            said = f"attempt {attempts} of {MAX_CALLBACK_ATTEMPTS}: no answer; no later window in the catalog's hours"
    elif outcome == "no_answer":
        callback["closed"] = True
        callback["completed_at"] = iso(now)
        said = f"attempt {attempts} of {MAX_CALLBACK_ATTEMPTS}: no answer; closed as no_answer"
    else:
        callback["closed"] = True
        callback["completed_at"] = iso(now)
        said = None
    ticket["callback"] = callback
    _record(ticket, agent, f"callback_{outcome}", "; ".join(x for x in (said, note) if x) or None)
    return await _save(request, ticket)


async def callback_call(request: web.Request) -> web.Response:
    ticket_id = _ticket_id(request)
    body = await _body(request)
    agent = _agent(body)
    _require_specialist("start a callback call")
    config = request.app[CONSOLE_KEY]
    account = config.accounts.get(agent)
    if account is None or not account.is_specialist:
        raise ApiError(403, f"{agent!r} is not a specialist's console account")
    if not config.calls_enabled:
        raise ApiError(503, "outbound calls are not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_CALLER_ID)")
    if not account.phone:
        raise ApiError(409, f"no phone number is configured for {agent} (accounts file: phone)")
    ticket = await _load(request, ticket_id)
    callback = _pending_callback(ticket)
    customer_phone = (ticket.get("customer") or {}).get("phone")
    if not customer_phone:
        raise ApiError(409, f"ticket {ticket_id} has no customer phone number")
    catalog = catalog_or_none(config.catalog_path)
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
    _record(ticket, agent, "callback_call_started",
            f"Twilio call {call['sid']}: {account.phone} first, then the customer {customer_phone}")
    saved = await request.app[STORE_KEY].save(ticket)
    feed = request.app.get(FEED_KEY)
    if feed is not None:
        feed.poke()
    return web.json_response({"call": call, "ticket": saved}, status=201)
