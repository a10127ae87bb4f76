"""Console settings, from the environment (see README, "Agent console")."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Mapping, Optional

from bot.console.accounts import Account, load_accounts


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive")
    return value


def _bool(env: Mapping[str, str], name: str) -> Optional[bool]:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return None
    return raw in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class ConsoleConfig:
    accounts: Dict[str, Account] = field(default_factory=dict)
    # Sessions: idle timeout (sliding), and the Secure cookie flag (None: only over https).
    session_ttl: float = 8 * 3600.0                # CONSOLE_SESSION_TTL seconds
    cookie_secure: Optional[bool] = None           # CONSOLE_COOKIE_SECURE=1 behind a TLS proxy
    # Sign-in throttling per name.
    login_max_failures: int = 5                    # CONSOLE_LOGIN_MAX_FAILURES
    login_lockout: float = 60.0                    # CONSOLE_LOGIN_LOCKOUT seconds
    # Live queue: how often the store is polled for changes.
    poll_interval: float = 1.0                     # CONSOLE_POLL_INTERVAL seconds
    # Outbound callback calls (Twilio Calls API).
    twilio_account_sid: Optional[str] = None       # TWILIO_ACCOUNT_SID
    twilio_auth_token: Optional[str] = None        # TWILIO_AUTH_TOKEN
    twilio_caller_id: Optional[str] = None         # TWILIO_CALLER_ID (a number of that account)
    twilio_api_base_url: Optional[str] = None      # TWILIO_API_BASE_URL (tests, proxies)
    # Ticketing webhook.
    webhook_url: Optional[str] = None              # TICKETING_WEBHOOK_URL
    webhook_secret: Optional[str] = None           # TICKETING_WEBHOOK_SECRET
    webhook_timeout: float = 10.0                  # TICKETING_WEBHOOK_TIMEOUT seconds
    webhook_retry_base: float = 2.0                # TICKETING_WEBHOOK_RETRY_BASE seconds
    webhook_retry_max: float = 600.0               # TICKETING_WEBHOOK_RETRY_MAX seconds
    webhook_catchup_hours: float = 24.0            # TICKETING_WEBHOOK_CATCHUP_HOURS
    catalog_path: Optional[str] = None             # CATALOG_PATH

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "ConsoleConfig":
        return cls(
            accounts=load_accounts(env),
            session_ttl=_float(env, "CONSOLE_SESSION_TTL", cls.session_ttl),
            cookie_secure=_bool(env, "CONSOLE_COOKIE_SECURE"),
            login_max_failures=int(_float(env, "CONSOLE_LOGIN_MAX_FAILURES", cls.login_max_failures)),
            login_lockout=_float(env, "CONSOLE_LOGIN_LOCKOUT", cls.login_lockout),
            poll_interval=_float(env, "CONSOLE_POLL_INTERVAL", cls.poll_interval),
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            twilio_caller_id=env.get("TWILIO_CALLER_ID") or None,
            twilio_api_base_url=env.get("TWILIO_API_BASE_URL") or None,
            webhook_url=env.get("TICKETING_WEBHOOK_URL") or None,
            webhook_secret=env.get("TICKETING_WEBHOOK_SECRET") or None,
            webhook_timeout=_float(env, "TICKETING_WEBHOOK_TIMEOUT", cls.webhook_timeout),
            webhook_retry_base=_float(env, "TICKETING_WEBHOOK_RETRY_BASE", cls.webhook_retry_base),
            webhook_retry_max=_float(env, "TICKETING_WEBHOOK_RETRY_MAX", cls.webhook_retry_max),
            webhook_catchup_hours=_float(env, "TICKETING_WEBHOOK_CATCHUP_HOURS", cls.webhook_catchup_hours),
            catalog_path=env.get("CATALOG_PATH") or None,
        )

    def with_(self, **changes: Any) -> "ConsoleConfig":
        return replace(self, **changes)

    @property
    def calls_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_caller_id)

    @property
    def webhook_enabled(self) -> bool:
        return bool(self.webhook_url and self.webhook_secret)
