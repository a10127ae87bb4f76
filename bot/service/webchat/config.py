"""Web chat settings, from the environment (see the README's web chat section); read once at
start-up as part of the agent service's settings (``AgentApiConfig.webchat``, bot/service/config.py).
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from typing import Any, Mapping, Optional, Tuple


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    return raw not in ("0", "false", "no", "off")


def _list(env: Mapping[str, str], name: str) -> Tuple[str, ...]:
    return tuple(item for item in (env.get(name) or "").replace(",", " ").split() if item)


def rate(raw: str, name: str) -> Tuple[int, float]:
    """"COUNT/SECONDS" -> (count, seconds): at most COUNT in any SECONDS (a token bucket)."""
    count, _, seconds = raw.partition("/")
    try:
        parsed = int(count), float(seconds or 60)
    except ValueError:
        raise ValueError(f"{name} must look like COUNT/SECONDS (e.g. 3/600), not {raw!r}") from None
    if parsed[0] < 1 or parsed[1] <= 0:
        raise ValueError(f"{name} must have a positive count and period")
    return parsed


@dataclass(frozen=True)
class WebchatConfig:
    # The key that signs conversation cookies. None: derived from AGENT_API_TOKEN (so every
    # agent-service process, and the next start, accept the same cookies), else random.
    secret: Optional[bytes] = None                    # CHAT_SECRET
    cookie_secure: bool = True                        # CHAT_COOKIE_SECURE=0 for plain-http local runs
    cookie_max_age: int = 7 * 24 * 3600               # how long a browser keeps its conversation
    # Origins besides the service's own that may open the chat socket / post (a shop embedding it).
    allowed_origins: Tuple[str, ...] = ()             # CHAT_ALLOWED_ORIGINS
    # Who may frame the chat page: () -> nobody (frame-ancestors 'none', X-Frame-Options DENY).
    frame_ancestors: Tuple[str, ...] = ()             # CHAT_FRAME_ANCESTORS
    # Per-client-address limits; CLIENT_LIMITS=off turns them all off (load tests, benchmarks).
    client_limits: bool = True                        # CLIENT_LIMITS
    conversations: Tuple[int, float] = (20, 600.0)    # CLIENT_LIMIT_CONVERSATIONS new conversations
    handoffs: Tuple[int, float] = (3, 600.0)          # CLIENT_LIMIT_HANDOFFS hand-offs to a person
    websockets: int = 10                              # CLIENT_LIMIT_WEBSOCKETS open at once

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "WebchatConfig":
        secret = env.get("CHAT_SECRET") or None
        limits = (env.get("CLIENT_LIMITS") or "on").strip().lower()
        if limits not in ("on", "off", "1", "0", "true", "false"):
            raise ValueError(f"CLIENT_LIMITS must be on or off, not {limits!r}")
        websockets = env.get("CLIENT_LIMIT_WEBSOCKETS") or str(cls.websockets)
        if not websockets.isdigit() or int(websockets) < 1:
            raise ValueError("CLIENT_LIMIT_WEBSOCKETS must be a positive integer")
        return cls(
            secret=secret.encode() if secret else None,
            cookie_secure=_bool(env, "CHAT_COOKIE_SECURE", True),
            allowed_origins=tuple(o.rstrip("/").lower() for o in _list(env, "CHAT_ALLOWED_ORIGINS")),
            frame_ancestors=_list(env, "CHAT_FRAME_ANCESTORS"),
            client_limits=limits in ("on", "1", "true"),
            conversations=rate(env.get("CLIENT_LIMIT_CONVERSATIONS") or "20/600", "CLIENT_LIMIT_CONVERSATIONS"),
            handoffs=rate(env.get("CLIENT_LIMIT_HANDOFFS") or "3/600", "CLIENT_LIMIT_HANDOFFS"),
            websockets=int(websockets),
        )

    def with_(self, **changes: Any) -> "WebchatConfig":
        return replace(self, **changes)


def derive_key(token: str) -> bytes:
    # A key of its own, so a cookie never helps anyone guess the bearer token.
    return hmac.new(token.encode(), b"complaints web chat conversation cookie v1", hashlib.sha256).digest()
