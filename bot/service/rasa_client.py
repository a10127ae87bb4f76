"""Every call the agent service makes to Rasa's HTTP API: a customer turn through the REST
channel (the web chat), reading a tracker, and appending events to one (an agent's message,
a hand-back's resume, a claim's marker)."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import aiohttp
from aiohttp import web

from bot.rasa_ext.channels.identity import GATEWAY_HEADER, WEB, gateway_proof
from bot.service.typedefs import CONFIG_KEY, HTTP_KEY

log = logging.getLogger(__name__)

# A customer turn can run several custom actions (ticket saves, catalog lookups), so it
# gets longer than the agent API's usual Rasa timeout.
TURN_TIMEOUT = 30.0


class RasaUnavailable(Exception):
    """Rasa could not be reached, timed out, or answered with an error (its HTTP `status`)."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


class RasaRateLimited(Exception):
    """Rasa's REST channel said 429: the customer is to slow down, not told Rasa is down."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


def _retry_after(resp: aiohttp.ClientResponse) -> float:
    try:
        return max(1.0, float(resp.headers.get("Retry-After") or 1))
    except ValueError:
        return 1.0


def _base(app: web.Application) -> str:
    return app[CONFIG_KEY].rasa_url.rstrip("/")


def _token(app: web.Application) -> Optional[Dict[str, str]]:
    token = app[CONFIG_KEY].rasa_token
    return {"token": token} if token else None


def _conversation_url(app: web.Application, conversation_id: str, suffix: str) -> str:
    return f"{_base(app)}/conversations/{quote(conversation_id, safe='')}/{suffix}"


async def _call(app: web.Application, method: str, url: str, *, timeout: float, **kwargs: Any) -> Any:
    try:
        async with app[HTTP_KEY].request(method, url, timeout=aiohttp.ClientTimeout(total=timeout), **kwargs) as resp:
            if resp.status == 429:
                raise RasaRateLimited(_retry_after(resp))
            if resp.status >= 300:
                body = (await resp.text())[:300]
                log.warning("rasa %s %s -> HTTP %s: %s", method, url.split("?")[0], resp.status, body)
                raise RasaUnavailable(f"HTTP {resp.status}", resp.status)
            return await resp.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        log.warning("rasa %s %s failed: %s", method, url.split("?")[0], type(exc).__name__)
        raise RasaUnavailable(type(exc).__name__) from None


async def send_turn(app: web.Application, conversation_id: str, text: str) -> List[Dict[str, Any]]:
    """One customer message through the REST channel; the bot's replies (empty while paused).

    The REST channel drops a client's `channel`; the gateway proves itself with a key derived
    from RASA_TOKEN (bot/rasa_ext/channels/identity.py), so its "web" is kept. Raises RasaRateLimited
    on Rasa's 429."""
    body = {"sender": conversation_id, "message": text, "metadata": {"channel": WEB}}
    proof = gateway_proof(app[CONFIG_KEY].rasa_token)
    headers = {GATEWAY_HEADER: proof} if proof else None
    replies = await _call(app, "POST", f"{_base(app)}/webhooks/rest/webhook", json=body, headers=headers,
                          timeout=TURN_TIMEOUT)
    if not isinstance(replies, list):
        raise RasaUnavailable("unexpected reply from the REST channel")
    return [r for r in replies if isinstance(r, dict)]


async def get_tracker(app: web.Application, conversation_id: str, include_events: str = "AFTER_RESTART") -> Dict[str, Any]:
    params = {**(_token(app) or {}), "include_events": include_events}
    tracker = await _call(
        app, "GET", _conversation_url(app, conversation_id, "tracker"),
        params=params, timeout=app[CONFIG_KEY].rasa_timeout,
    )
    if not isinstance(tracker, dict):
        raise RasaUnavailable("unexpected tracker")
    return tracker


async def append_events(app: web.Application, conversation_id: str, events: Any,
                        include_events: Optional[str] = None) -> None:
    """Append one event or a list to the conversation's tracker. `include_events` asks Rasa
    for less of the tracker back (nothing here reads it)."""
    params = {**(_token(app) or {}), **({"include_events": include_events} if include_events else {})}
    await _call(app, "POST", _conversation_url(app, conversation_id, "tracker/events"),
                params=params or None, json=events, timeout=app[CONFIG_KEY].rasa_timeout)


async def append_agent_message(app: web.Application, conversation_id: str, agent: str, text: str) -> None:
    """Record an agent's message as a bot event, so the transcript (and a reload) has it."""
    await append_events(app, conversation_id, {"event": "bot", "text": text, "metadata": {"agent": agent}},
                        include_events="NONE")
