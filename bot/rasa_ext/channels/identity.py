"""Which message metadata a client may not set.

Actions believe `caller` (the number the phone network vouches for: it can make a customer
whitelisted, hence high priority and eligible for a callback to that number) and `channel`
(the ticket's channel), and the transcript believes `agent`. Only a channel that verified
them may put them on a message: the IVR sets `caller` from Twilio's signed parameters; the
web chat gateway has `channel: "web"` accepted by proving itself to the REST channel
(bot/rasa_ext/channels/rest.py). Everything a client sends goes through `strip_identity`.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Any, Dict, Optional

IDENTITY_KEYS = frozenset({"caller", "channel", "agent", "client", "client_address"})

# The header the web chat gateway proves itself with, and what it carries: a key derived
# from RASA_TOKEN (both processes have it), not the token itself, so that a proxy or log
# that sees the header learns nothing that opens Rasa's HTTP API.
GATEWAY_HEADER = "X-Webchat-Gateway"
WEB = "web"


def strip_identity(metadata: Any) -> Dict[str, Any]:
    """A client's metadata without the keys only a verifying channel may set."""
    if not isinstance(metadata, dict):
        return {}
    return {key: value for key, value in metadata.items() if key not in IDENTITY_KEYS}


def gateway_proof(rasa_token: Optional[str]) -> Optional[str]:
    if not rasa_token:
        return None
    return hmac.new(rasa_token.encode(), b"complaints web chat gateway v1", hashlib.sha256).hexdigest()


def is_gateway(header_value: Optional[str], rasa_token: Optional[str]) -> bool:
    expected = gateway_proof(rasa_token)
    given = (header_value or "").strip()
    return bool(expected and given and hmac.compare_digest(given.encode(), expected.encode()))
