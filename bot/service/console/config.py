"""Console settings, from the environment (see README, "Agent console"); read once at start-up
as part of the agent service's settings (bot/service/config.py)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Dict, Mapping, Optional

from bot import settings
from bot.service.console.accounts import Account, load_accounts
from bot.service.console.ticket_webhook import check_webhook_url


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


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = _float(env, name, default)
    if value != int(value):
        raise ValueError(f"{name} must be a whole number")
    return int(value)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 1 or 0, not {raw!r}")


@dataclass(frozen=True)
class ConsoleConfig:
    accounts: Dict[str, Account] = field(default_factory=dict)
    # Sessions: idle timeout (sliding) and an absolute lifetime however busy the session is.
    session_ttl: float = 8 * 3600.0                # CONSOLE_SESSION_TTL seconds
    session_max_age: float = 12 * 3600.0           # CONSOLE_SESSION_MAX_AGE seconds
    # Cookies are Secure unless opted out (CONSOLE_COOKIE_SECURE=0) for plain-http local runs;
    # opted out, they are still Secure when the request itself came over https.
    cookie_secure: bool = True                     # CONSOLE_COOKIE_SECURE
    # Sign-in throttling (bot.service.console.throttle): free failures per (name, address) and per
    # address, then waits of login_lockout x 2^k seconds, at most login_max_delay.
    login_max_failures: int = 5                    # CONSOLE_LOGIN_MAX_FAILURES (per name and address)
    login_address_max_failures: int = 20           # CONSOLE_LOGIN_ADDRESS_MAX_FAILURES (per address)
    login_lockout: float = 60.0                    # CONSOLE_LOGIN_LOCKOUT seconds (the first wait)
    login_max_delay: float = 900.0                 # CONSOLE_LOGIN_MAX_DELAY seconds
    # Password checks (scrypt, ~16 MB and ~50 ms each) running at once, and waiting for a turn.
    login_hash_concurrency: int = 2                # CONSOLE_LOGIN_HASH_CONCURRENCY
    login_hash_queue: int = 32                     # CONSOLE_LOGIN_HASH_QUEUE
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
    webhook_allow_http: bool = False               # TICKETING_WEBHOOK_ALLOW_HTTP=1: a local http receiver
    webhook_timeout: float = 10.0                  # TICKETING_WEBHOOK_TIMEOUT seconds
    webhook_retry_base: float = 2.0                # TICKETING_WEBHOOK_RETRY_BASE seconds
    webhook_retry_max: float = 600.0               # TICKETING_WEBHOOK_RETRY_MAX seconds
    webhook_catchup_hours: float = 24.0            # TICKETING_WEBHOOK_CATCHUP_HOURS
    catalog_path: Optional[str] = None             # CATALOG_PATH (None: the product's, bot/settings.py)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "ConsoleConfig":
        return cls(
            accounts=load_accounts(env),
            session_ttl=_float(env, "CONSOLE_SESSION_TTL", cls.session_ttl),
            session_max_age=_float(env, "CONSOLE_SESSION_MAX_AGE", cls.session_max_age),
            cookie_secure=_flag(env, "CONSOLE_COOKIE_SECURE", cls.cookie_secure),
            login_max_failures=_int(env, "CONSOLE_LOGIN_MAX_FAILURES", cls.login_max_failures),
            login_address_max_failures=_int(env, "CONSOLE_LOGIN_ADDRESS_MAX_FAILURES", cls.login_address_max_failures),
            login_lockout=_float(env, "CONSOLE_LOGIN_LOCKOUT", cls.login_lockout),
            login_max_delay=_float(env, "CONSOLE_LOGIN_MAX_DELAY", cls.login_max_delay),
            login_hash_concurrency=_int(env, "CONSOLE_LOGIN_HASH_CONCURRENCY", cls.login_hash_concurrency),
            login_hash_queue=_int(env, "CONSOLE_LOGIN_HASH_QUEUE", cls.login_hash_queue),
            poll_interval=_float(env, "CONSOLE_POLL_INTERVAL", cls.poll_interval),
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            twilio_caller_id=env.get("TWILIO_CALLER_ID") or None,
            twilio_api_base_url=env.get("TWILIO_API_BASE_URL") or None,
            webhook_url=env.get("TICKETING_WEBHOOK_URL") or None,
            webhook_secret=env.get("TICKETING_WEBHOOK_SECRET") or None,
            webhook_allow_http=_flag(env, "TICKETING_WEBHOOK_ALLOW_HTTP", cls.webhook_allow_http),
            webhook_timeout=_float(env, "TICKETING_WEBHOOK_TIMEOUT", cls.webhook_timeout),
            webhook_retry_base=_float(env, "TICKETING_WEBHOOK_RETRY_BASE", cls.webhook_retry_base),
            webhook_retry_max=_float(env, "TICKETING_WEBHOOK_RETRY_MAX", cls.webhook_retry_max),
            webhook_catchup_hours=_float(env, "TICKETING_WEBHOOK_CATCHUP_HOURS", cls.webhook_catchup_hours),
            catalog_path=settings.current(env).catalog_path,
        )

    def __post_init__(self) -> None:
        # Refused when configured, not at the first hand-off: an http:// receiver (or a typo'd
        # scheme) would carry customers' personal data unencrypted and unauthenticated.
        if self.webhook_url:
            check_webhook_url(self.webhook_url, allow_http=self.webhook_allow_http)

    def with_(self, **changes: Any) -> "ConsoleConfig":
        return replace(self, **changes)

    @property
    def calls_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_caller_id)

    @property
    def webhook_enabled(self) -> bool:
        return bool(self.webhook_url and self.webhook_secret)
