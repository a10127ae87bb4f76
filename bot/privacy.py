"""Masks payment card numbers (and catalog-named secrets) before anything is stored or logged.

- `mask_secrets(text)`: Luhn-valid card numbers (13-19 digits, optionally grouped by single
  spaces or dashes) become "[card ending 1111]"; every regex listed in the catalog's
  `business.sensitive_patterns` (and any `extra_patterns` given) becomes "[redacted]".
  Order numbers (6-10 digits), dates, amounts and phone numbers are left alone.
  Every customer message is masked with it as it reaches the Rasa server, whatever the
  channel (bot/rasa_ext/patches/turn_hooks.py); the action server, the agent service and
  the web chat mask what they store with it too.
- `install_log_masking()`: a log-record factory that masks every record of the process
  (message, arguments, traceback), whatever logger or handler it goes through. It is
  installed in the Rasa server and the action server by `bot/runtime/logging_config.yml`
  (`--logging-config-file`, see bot/runtime/launcher.py).

Catalog patterns are either a regex string or `{pattern: ..., label: ...}`; a match is
replaced by "[redacted]" or "[redacted <label>]". An invalid regex is skipped (and logged
once) rather than letting a typo in the catalog stop the assistant.
"""
from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from typing import Any, Iterable, Optional, Pattern, Tuple

from bot.catalog import load_catalog

# 13-19 digits, optionally grouped by single spaces or dashes.
_CARD = re.compile(r"(?<![\d])(?:\d[ \-]?){12,18}\d(?![\d])")

_log = logging.getLogger(__name__)
_warned: set = set()


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask_card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return f"[card ending {digits[-4:]}]"
    return match.group(0)


# ---- catalog patterns ------------------------------------------------------------------
def _spec(item: Any) -> Optional[Tuple[str, str]]:
    if isinstance(item, str):
        return item, "[redacted]"
    if isinstance(item, dict) and isinstance(item.get("pattern"), str):
        label = item.get("label") or item.get("name")
        return item["pattern"], f"[redacted {label}]" if label else "[redacted]"
    return None


@lru_cache(maxsize=64)
def _compile(pattern: str) -> Optional[Pattern[str]]:
    try:
        return re.compile(pattern)
    except re.error as error:
        if pattern not in _warned:
            _warned.add(pattern)
            _log.warning("sensitive pattern %r is not a valid regex, skipped: %s", pattern, error)
        return None


def catalog_patterns() -> Tuple[Tuple[Pattern[str], str], ...]:
    """The catalog's `business.sensitive_patterns`, compiled (load_catalog reloads the file
    when it changes; each set of patterns is compiled once)."""
    was_active, _guard.active = _guard.active, True  # no log masking while loading
    try:
        items = load_catalog().business.get("sensitive_patterns") or []
        return _compiled(tuple(spec for spec in map(_spec, items) if spec and spec[0]))
    except Exception:  # no catalog here, or a broken one: cards are still masked
        return ()
    finally:
        _guard.active = was_active


@lru_cache(maxsize=4)
def _compiled(specs: Tuple[Tuple[str, str], ...]) -> Tuple[Tuple[Pattern[str], str], ...]:
    compiled = []
    for pattern, replacement in specs:
        regex = _compile(pattern)
        if regex is not None:
            compiled.append((regex, replacement))
    return tuple(compiled)


def mask_secrets(text: Optional[str], extra_patterns: Iterable[str] = ()) -> str:
    if not text:
        return text or ""
    masked = _CARD.sub(_mask_card, text)
    for regex, replacement in catalog_patterns():
        masked = regex.sub(replacement, masked)
    for pattern in extra_patterns:
        masked = re.sub(pattern, "[redacted]", masked)
    return masked


# ---- logs ------------------------------------------------------------------------------
class _Guard(threading.local):
    active = False


_guard = _Guard()


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask a record in place: its formatted message, traceback and stack."""
    if _guard.active:
        return record
    _guard.active = True
    try:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: leave it to logging to report
            return record
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            masked = mask_secrets(text)
            if masked != text:
                record.exc_text = masked
        elif record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_secrets(record.stack_info)
    except Exception:  # masking must never break logging
        pass
    finally:
        _guard.active = False
    return record


class MaskSecretsFilter(logging.Filter):
    """Also usable on a handler (`filters: [mask_secrets]`); always lets the record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


_installed = False


def install_log_masking() -> MaskSecretsFilter:
    """Make every log record of this process masked at creation. Idempotent.

    Referenced from bot/runtime/logging_config.yml as a filter factory, so that
    `rasa run --logging-config-file` and `rasa run actions --logging-config_file` install it
    (dictConfig builds every declared filter). A record factory rather than a handler
    filter, because Rasa, coloredlogs and Sanic add handlers of their own after the
    logging config is read."""
    global _installed
    if not _installed:
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return mask_record(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _installed = True
    return MaskSecretsFilter()
