"""Helpers of the edge tests (fuzz, privacy, metrics) and the configuration of their stack
(the `edge_stack` fixture is in tests/live/conftest.py): the product as `make run` starts it (SQLite), with
the Twilio IVR configured (signed requests), always-open hours, and a catalog naming two
extra sensitive patterns besides card numbers.
"""
from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict

from twilio.request_validator import RequestValidator

from tests.support.live import ALWAYS_OPEN, LiveStack, catalog_with_hours

TWILIO_TOKEN = "edge-twilio-token"
PUBLIC = "https://edge.example.test"
SENSITIVE_PATTERNS = [r"\bPIN[:\s]*\d{4}\b", {"pattern": r"(?i)\bpassword[:\s]+\S+", "label": "password"}]


def edge_catalog(directory: Path) -> str:
    return catalog_with_hours(directory, ALWAYS_OPEN, sensitive_patterns=SENSITIVE_PATTERNS)


def twilio_signature(url: str, params: Dict[str, str]) -> str:
    return RequestValidator(TWILIO_TOKEN).compute_signature(url, params)


def ivr_post(stack: LiveStack, public_url: str, params: Dict[str, str], signed: bool = True,
             signature: str = None, body: bytes = None, content_type: str = "application/x-www-form-urlencoded"):
    """POST to the IVR as Twilio does (signed over PUBLIC_URL + path + query) -> (status, text)."""
    assert public_url.startswith(PUBLIC)
    local = stack.rasa_url + public_url[len(PUBLIC):]
    headers = {"Content-Type": content_type}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    elif signed:
        headers["X-Twilio-Signature"] = twilio_signature(public_url, params)
    data = body if body is not None else urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(local, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


class IVRCall:
    """A signed phone call to the edge stack, following each <Gather action>."""

    def __init__(self, stack: LiveStack, caller: str = "+447700900999") -> None:
        self.stack, self.caller = stack, caller
        self.sid = "CA" + uuid.uuid4().hex
        self.next_url = PUBLIC + "/webhooks/twilio_ivr/webhook"

    def params(self, **inputs: str) -> Dict[str, str]:
        return {"CallSid": self.sid, "AccountSid": "AC" + "0" * 32, "From": self.caller, "To": "+442071234567",
                "CallStatus": "in-progress", "Direction": "inbound", **inputs}

    def turn(self, **inputs: str) -> str:
        status, body = ivr_post(self.stack, self.next_url, self.params(**inputs))
        assert status == 200, body
        gather = ET.fromstring(body).find("Gather")
        if gather is not None:
            self.next_url = urllib.parse.urljoin(self.next_url, gather.get("action"))
        return body
