"""The REST channel (POST /webhooks/rest/webhook {"sender", "message", "metadata"}) with the
edges a public endpoint needs. Registered in credentials.yml as `bot.rasa_ext.channels.rest.RestInput`;
its name stays "rest", so the URL and the tickets' channel are unchanged.

Over Rasa's own RestInput it adds:

- a body limit: more than 16 KB (`max_body_bytes`) -> 413, without reading the rest (the
  route streams its body, so Sanic's app-wide 100 MB limit never applies here);
- validation: a JSON object with a string `sender` (1-255 printable characters), a string
  `message` and an optional object `metadata`, else 400 with a JSON error; control
  characters and lone surrogates are taken out of the message, and the metadata that
  asserts identity (`caller`, `channel`, `agent`: bot/rasa_ext/channels/identity.py) is dropped;
  only the web chat gateway, proving itself with the `X-Webchat-Gateway` header (a key
  derived from RASA_TOKEN), has its `channel: "web"` kept;
- a per-conversation rate limit: a token bucket per sender (5 messages/s, bursts of 10), in
  memory, or in Redis when REDIS_URL is set so that every Rasa server shares it; over the
  limit -> 429 {"error", "retry_after"} with a Retry-After header. One sender's flood slows
  only that sender;
- masking: card numbers and the catalog's sensitive patterns are masked in the message
  before Rasa reads it, as on every channel (bot/rasa_ext/patches/turn_hooks.py), so the
  tracker store never holds them;
- a polite answer instead of silence when the turn fails (the action server can't be
  reached, the tracker or lock store fails): Rasa logs the error and answers nothing;
  here the customer is told there is a technical problem and asked to send the message
  again, and the conversation is put back as it was before the message (its events stay,
  followed by the apology and the slots / form that undo it), so the retried message
  continues exactly where it was. The ticket id a failed turn created is kept, so a retry
  never opens a second ticket;
- GET /metrics on the Rasa port (bot/rasa_ext/metrics.py; `Authorization: Bearer $METRICS_TOKEN`,
  refused when no token is set).

Settings (credentials.yml keys, else environment, else default; bot/rasa_ext/settings.py):
max_body_bytes / REST_MAX_BODY_BYTES (16384), rate_per_second / REST_RATE_PER_SECOND (5; 0
turns the limit off), burst / REST_RATE_BURST (10), redis_url / REDIS_URL, gateway_token /
RASA_TOKEN; the rate limits' Redis keys start with REDIS_KEY_PREFIX ("complaints:").
Building the channel installs the Rasa patches (bot/rasa_ext/patches/__init__.py).
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

import redis.asyncio as aioredis
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from rasa.shared.core.events import ActiveLoop, BotUttered, SlotSet, UserUttered
from sanic import Blueprint, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.rasa_ext import metrics, patches
from bot.rasa_ext.channels.identity import GATEWAY_HEADER, WEB, is_gateway, strip_identity
from bot.rasa_ext.settings import RestSettings, current
from bot.token_buckets import TokenBuckets

logger = logging.getLogger(__name__)

MAX_SENDER = 255
FAULT_MARKER = "technical_problem"
TECHNICAL_PROBLEM = (
    "Sorry, I'm having a technical problem just now. Please give me a moment and then send "
    "your last message again. Nothing you've told me so far is lost."
)
KEPT_SLOTS = ("ticket_id",)  # slots that point at something already stored outside Rasa


_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Control characters dropped (tab and newlines kept), lone UTF-16 surrogates (valid in
    JSON escapes, not encodable as UTF-8) replaced by U+FFFD, so every store can hold it."""
    return _UNSTORABLE.sub(lambda m: "\ufffd" if m.group() >= "\ud800" else "", text)


# ---- rate limits --------------------------------------------------------------------------
class MemoryRateLimiter:
    """Token bucket per key, in this process (bot/token_buckets.py)."""

    def __init__(self, rate: float, burst: float, max_keys: int = 100_000) -> None:
        self.rate, self.burst = rate, burst
        self._buckets = TokenBuckets(burst, rate, max_keys)

    async def hit(self, key: str) -> float:
        """0 if the message may go ahead (and counts), else the seconds until it may."""
        return self._buckets.take(key)


_BUCKET_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisRateLimiter:
    """The same token bucket in Redis (one Lua script, Redis's clock), shared by every Rasa
    server. If Redis can't be reached the message goes ahead: a rate limit must not turn a
    Redis hiccup into refused customers."""

    def __init__(self, url: str, rate: float, burst: float, key_prefix: str) -> None:
        self.url, self.rate, self.burst = url, rate, burst
        self.key_prefix = key_prefix
        self._script = None
        self._last_warning = 0.0

    async def hit(self, key: str) -> float:
        try:
            if self._script is None:
                client = aioredis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
                self._script = client.register_script(_BUCKET_SCRIPT)
            wait = await self._script(keys=[f"{self.key_prefix}{key}"], args=[self.rate, self.burst])
            return max(0.0, float(wait))
        except Exception as error:
            now = time.monotonic()
            if now - self._last_warning > 60:
                self._last_warning = now
                logger.warning("rest: rate limit not checked, Redis unavailable (%s)", type(error).__name__)
            return 0.0


# ---- the channel --------------------------------------------------------------------------
class _RestBlueprint(Blueprint):
    """Registers, with the channel's routes, GET /metrics at the root of the Rasa server: a
    route outside the channel's prefix needs the app, which a blueprint only meets here."""

    def register(self, app: Any, options: Any) -> None:
        super().register(app, options)
        if not getattr(app.ctx, "complaints_metrics_route", False):
            app.add_route(metrics_view, "/metrics", methods=["GET"], name="complaints_metrics")
            app.ctx.complaints_metrics_route = True


async def metrics_view(request: Request) -> HTTPResponse:
    settings = current()
    if not metrics.authorized(request.headers.get("Authorization"), settings.metrics_token):
        return response.json({"error": "missing or wrong bearer token"}, status=401)
    body, content_type = metrics.render(settings.prometheus_multiproc_dir)
    return response.raw(body, content_type=content_type)


def _error(status: int, message: str, headers: Optional[Dict[str, str]] = None, **extra: Any) -> HTTPResponse:
    return response.json({"error": message, **extra}, status=status, headers=headers)


class RestInput(RasaRestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        patches.install()  # card masking on every channel; refuses an unmeasured Rasa
        return cls(current().rest.overridden_by(credentials or {}))

    def __init__(self, settings: Optional[RestSettings] = None) -> None:
        settings = settings or RestSettings()
        self.max_body_bytes = settings.max_body_bytes
        self.gateway_token = settings.gateway_token
        self.limiter: Optional[Any] = None
        if settings.rate_per_second > 0:
            rate, burst = settings.rate_per_second, max(1.0, settings.burst)
            if settings.redis_url:
                prefix = f"{settings.key_prefix}ratelimit:rest:"
                self.limiter = RedisRateLimiter(settings.redis_url, rate, burst, prefix)
            else:
                self.limiter = MemoryRateLimiter(rate, burst)

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()  # never a client-chosen name (it would become a metrics label)

    # ---- request -> (sender, text, metadata) -------------------------------------------
    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_body_bytes:
            raise PayloadTooLarge("Request body exceeds the size limit")
        if request.stream is not None:
            request.stream.request_max_size = self.max_body_bytes
            await request.receive_body()
        if len(request.body or b"") > self.max_body_bytes:
            raise PayloadTooLarge("Request body exceeds the size limit")
        return request.body or b""

    @staticmethod
    def _parse(body: bytes) -> Tuple[Optional[Tuple[str, str, Optional[Dict[str, Any]]]], Optional[str]]:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None, "body must be JSON (not nested too deeply)"
        if not isinstance(data, dict):
            return None, "body must be a JSON object"
        sender = data.get("sender")
        if isinstance(sender, int) and not isinstance(sender, bool):
            sender = str(sender)
        if not isinstance(sender, str) or not sender or len(sender) > MAX_SENDER or not sender.isprintable():
            return None, f"'sender' must be a string of 1-{MAX_SENDER} printable characters"
        text = data.get("message")
        if not isinstance(text, str):
            return None, "'message' must be a string"
        metadata = data.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            return None, "'metadata' must be an object"
        return (sender, clean_text(text), metadata), None

    def _trusted_metadata(self, request: Request, metadata: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        """Over REST anyone could claim a caller's number (whitelist -> high priority and a
        callback to it) or a channel: those keys are dropped. The web chat gateway, once it
        has proved itself, keeps `channel: "web"` (and nothing else that asserts identity)."""
        if metadata is None:
            return None
        kept = strip_identity(metadata)
        if metadata.get("channel") == WEB and is_gateway(request.headers.get(GATEWAY_HEADER), self.gateway_token):
            kept["channel"] = WEB
        return kept

    # ---- routes ------------------------------------------------------------------------
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = _RestBlueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> Any:
            try:
                body = await self._read_body(request)
            except PayloadTooLarge:
                metrics.REST_REJECTED.labels("too_large").inc()
                return _error(413, f"request body is larger than {self.max_body_bytes} bytes", max_bytes=self.max_body_bytes)
            parsed, problem = self._parse(body)
            if parsed is None:
                metrics.REST_REJECTED.labels("bad_request").inc()
                return _error(400, problem or "bad request")
            sender, text, metadata = parsed
            metadata = self._trusted_metadata(request, metadata)

            if self.limiter is not None:
                wait = await self.limiter.hit(sender)
                if wait > 0:
                    metrics.REST_REJECTED.labels("rate_limited").inc()
                    retry_after = max(1, math.ceil(wait))
                    return _error(
                        429, "too many messages in this conversation; please slow down",
                        headers={"Retry-After": str(retry_after)}, retry_after=round(wait, 3),
                    )

            if request.args.get("stream", "").lower() in ("true", "1", "yes"):
                return response.stream(
                    self.stream_response(on_new_message, text, sender, self.name(), metadata),
                    content_type="text/event-stream",
                )
            return response.json(await self.turn(request, on_new_message, sender, text, metadata))

        return webhook

    async def turn(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]],
        sender: str, text: str, metadata: Optional[Dict[str, Any]],
    ) -> Any:
        collector = CollectingOutputChannel()
        message = UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata)
        turn = metrics.Turn(self.name())
        token = metrics.CURRENT_TURN.set(turn)
        raised: Optional[BaseException] = None
        try:
            await on_new_message(message)
        except asyncio.CancelledError as error:  # Rasa's response timeout
            raised = error
        except Exception as error:
            raised = error
        finally:
            metrics.CURRENT_TURN.reset(token)
        if raised is not None:
            kind = f"exception: {type(raised).__name__}"
            if kind not in turn.errors:  # the turn hook may have noted it already
                turn.errors.append(kind)
            logger.error("rest: the turn of %r raised", sender, exc_info=raised)
        try:
            if not turn.failed:
                return collector.messages
            logger.warning("rest: the turn of %r failed (%s); answering with an apology", sender, "; ".join(turn.errors)[:500])
            if await self._rewind(request, sender, message.message_id):
                return collector.messages  # the turn handed the customer to a person: say so
            # The marker tells clients (and tests) the apology from an answer: a test that
            # didn't inject a fault fails on it (tests/support/live.py, tests/support/cluster.py).
            return [{"recipient_id": sender, "text": TECHNICAL_PROBLEM, "custom": {FAULT_MARKER: True}}]
        finally:
            metrics.observe_turn(turn)

    async def _rewind(self, request: Request, sender: str, message_id: str) -> bool:
        """After a failed turn: record the apology and put the conversation back in the state
        it had before the message (slots and active form), keeping every event, so that the
        customer's retry continues from there. Returns True when the turn had handed the
        conversation to a person (nothing is undone then).

        Not `UserUtteranceReverted`: after a form turn Rasa's applied-events logic would
        rewind past the form's previous question, up to starting a new session."""
        agent = getattr(request.app.ctx, "agent", None)
        if agent is None or not agent.is_ready():
            return False
        try:
            async with agent.lock_store.lock(sender):
                tracker = await agent.tracker_store.retrieve(sender)
                if tracker is None:
                    return False
                events = list(tracker.events)
                mine = next((i for i in range(len(events) - 1, -1, -1) if isinstance(events[i], UserUttered)), None)
                if mine is None or events[mine].message_id != message_id:
                    return False  # the message never reached the tracker: nothing to undo
                if tracker.is_paused():
                    return True
                before = tracker.init_copy()
                for event in events[:mine]:
                    before.update(event)
                restore: List[Any] = []
                if tracker.active_loop_name != before.active_loop_name:
                    restore.append(ActiveLoop(before.active_loop_name))
                for name, slot in before.slots.items():
                    current = tracker.slots.get(name)
                    if name not in KEPT_SLOTS and current is not None and current.value != slot.value:
                        restore.append(SlotSet(name, slot.value))
                tracker.update(BotUttered(TECHNICAL_PROBLEM, metadata={"technical_problem": True}))
                for event in restore:
                    tracker.update(event)
                await agent.tracker_store.save(tracker)
        except Exception:
            logger.warning("rest: could not undo the failed turn of %r", sender, exc_info=True)
        return False
