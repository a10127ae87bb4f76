"""The Rasa server's own settings: every environment variable bot/rasa_ext reads, read here.

    REST_MAX_BODY_BYTES (16384), REST_RATE_PER_SECOND (5; 0 turns the limit off),
    REST_RATE_BURST (10), REDIS_URL, REDIS_KEY_PREFIX ("complaints:"), RASA_TOKEN
                            the REST channel (bot/rasa_ext/channels/rest.py)
    TWILIO_AUTH_TOKEN, PUBLIC_URL, TWILIO_LANGUAGE (en-GB), TWILIO_VOICE,
    TWILIO_HANDOFF_QUEUE (complaints), TWILIO_HANDOFF_DIAL, TWILIO_SPEECH_HINTS (the
    catalog's words), TWILIO_WORKFLOW_SID, REDIS_URL
                            the Twilio IVR (bot/rasa_ext/channels/twilio_ivr.py)
    METRICS_TOKEN, PROMETHEUS_MULTIPROC_DIR
                            GET /metrics (bot/rasa_ext/metrics.py)
    SESSION_MAX_TURNS (10; 0 turns the length limit off)
                            bot/rasa_ext/patches/session_expiry.py

A blank variable counts as unset. A channel's keys in credentials.yml override its
variables (`overridden_by`); a value that is not a number is logged and the default used.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

from bot.settings import Settings as SharedSettings
from bot.settings import parsed_once
from bot.tickets.model import DEFAULT_KEY_PREFIX

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 16 * 1024
DEFAULT_RATE = 5.0
DEFAULT_BURST = 10.0
DEFAULT_MAX_TURNS = 10


def _text(raw: Any) -> Optional[str]:
    """A setting's text, stripped; None when unset or blank."""
    text = str(raw).strip() if raw is not None else ""
    return text or None


def _number(name: str, raw: Any, default: float) -> float:
    if _text(raw) is None:
        return default
    try:
        return float(raw)
    except (TypeError, ValueError):
        logger.warning("%s=%r is not a number; using %s", name, raw, default)
        return default


def _whole_number(name: str, raw: Any, default: int) -> int:
    if _text(raw) is None:
        return default
    try:
        return max(int(str(raw).strip()), 0)
    except ValueError:
        logger.warning("%s=%r is not a whole number; using %d", name, raw, default)
        return default


@dataclass(frozen=True)
class RestSettings:
    """credentials.yml keys: max_body_bytes, rate_per_second, burst, redis_url, gateway_token."""

    max_body_bytes: int = DEFAULT_MAX_BODY
    rate_per_second: float = DEFAULT_RATE
    burst: float = DEFAULT_BURST
    redis_url: Optional[str] = None  # the rate limits in Redis, shared by every Rasa server
    # The Rasa server and the agent service get the same RASA_TOKEN from the launcher; the web
    # chat gateway proves itself with a key derived from it (bot/rasa_ext/channels/identity.py).
    gateway_token: Optional[str] = None
    key_prefix: str = DEFAULT_KEY_PREFIX

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "RestSettings":
        shared = SharedSettings.from_env(env)  # REDIS_URL, REDIS_KEY_PREFIX: read by bot/settings.py
        return cls(
            max_body_bytes=int(_number("REST_MAX_BODY_BYTES", env.get("REST_MAX_BODY_BYTES"), DEFAULT_MAX_BODY)),
            rate_per_second=_number("REST_RATE_PER_SECOND", env.get("REST_RATE_PER_SECOND"), DEFAULT_RATE),
            burst=_number("REST_RATE_BURST", env.get("REST_RATE_BURST"), DEFAULT_BURST),
            redis_url=shared.redis_url,
            gateway_token=env.get("RASA_TOKEN") or None,
            key_prefix=shared.redis_key_prefix,
        )

    def overridden_by(self, credentials: Mapping[str, Any]) -> "RestSettings":
        changes: Dict[str, Any] = {}
        for key, default in (("max_body_bytes", DEFAULT_MAX_BODY), ("rate_per_second", DEFAULT_RATE), ("burst", DEFAULT_BURST)):
            if _text(credentials.get(key)) is not None:
                changes[key] = _number(key, credentials[key], default)
        if "max_body_bytes" in changes:
            changes["max_body_bytes"] = int(changes["max_body_bytes"])
        for key in ("redis_url", "gateway_token"):
            if credentials.get(key):
                changes[key] = credentials[key]
        return dataclasses.replace(self, **changes)


# IVRSettings field -> its environment variable.
IVR_ENV = {
    "auth_token": "TWILIO_AUTH_TOKEN", "public_url": "PUBLIC_URL", "language": "TWILIO_LANGUAGE",
    "voice": "TWILIO_VOICE", "handoff_queue": "TWILIO_HANDOFF_QUEUE", "handoff_dial": "TWILIO_HANDOFF_DIAL",
    "speech_hints": "TWILIO_SPEECH_HINTS", "workflow_sid": "TWILIO_WORKFLOW_SID",
}


@dataclass(frozen=True)
class IVRSettings:
    """credentials.yml keys: the field names."""

    auth_token: Optional[str] = None  # none: every request is refused (unsigned calls never accepted)
    public_url: Optional[str] = None  # the base URL Twilio calls and signs, without a trailing "/"
    language: str = "en-GB"
    voice: Optional[str] = None
    handoff_queue: str = "complaints"
    handoff_dial: Optional[str] = None
    speech_hints: Optional[str] = None  # None: built from the catalog (bot/speech.py speech_hints)
    workflow_sid: Optional[str] = None
    redis_url: Optional[str] = None  # the per-call state in Redis, shared by every Rasa server

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> "IVRSettings":
        """From settings by field name; blank ones keep their default."""
        return cls().overridden_by(values)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "IVRSettings":
        values = {key: env.get(name) for key, name in IVR_ENV.items()}
        return cls.from_values({**values, "redis_url": SharedSettings.from_env(env).redis_url})

    def overridden_by(self, credentials: Mapping[str, Any]) -> "IVRSettings":
        changes = {key: _text(credentials.get(key)) for key in (*IVR_ENV, "redis_url")
                   if _text(credentials.get(key)) is not None}
        if "public_url" in changes:
            changes["public_url"] = changes["public_url"].rstrip("/") or None
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class RasaSettings:
    rest: RestSettings = field(default_factory=RestSettings)
    ivr: IVRSettings = field(default_factory=IVRSettings)
    metrics_token: Optional[str] = None  # none: /metrics answers nobody (`make run` generates one)
    # Set by bot.runtime.launcher with several Sanic workers: /metrics sums them all.
    prometheus_multiproc_dir: Optional[str] = None
    session_max_turns: int = DEFAULT_MAX_TURNS

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "RasaSettings":
        return cls(
            rest=RestSettings.from_env(env),
            ivr=IVRSettings.from_env(env),
            metrics_token=env.get("METRICS_TOKEN") or None,
            prometheus_multiproc_dir=env.get("PROMETHEUS_MULTIPROC_DIR") or None,
            session_max_turns=_whole_number("SESSION_MAX_TURNS", env.get("SESSION_MAX_TURNS"), DEFAULT_MAX_TURNS),
        )


ENV_NAMES = (
    "REST_MAX_BODY_BYTES", "REST_RATE_PER_SECOND", "REST_RATE_BURST", "REDIS_URL", "REDIS_KEY_PREFIX", "RASA_TOKEN",
    *IVR_ENV.values(), "METRICS_TOKEN", "PROMETHEUS_MULTIPROC_DIR", "SESSION_MAX_TURNS",
)


# This process's settings. Parsed once per distinct environment: the session-expiry check
# asks at every turn, and a changed environment (a test's) must still be seen.
current = parsed_once(ENV_NAMES, RasaSettings.from_env, maxsize=8)

