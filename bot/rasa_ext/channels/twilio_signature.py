"""Twilio's request signature (`X-Twilio-Signature`), checked on every request of the IVR.

Twilio signs the URL it called (PUBLIC_URL + path + query behind a proxy or tunnel) and
the posted form with the account's auth token. Without an auth token nothing is
authentic: unsigned calls are never accepted.
"""
from __future__ import annotations

import logging
import urllib.parse
from typing import Optional

from sanic import response
from sanic.request import Request, RequestParameters
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

logger = logging.getLogger(__name__)


class TwilioSignature:
    def __init__(self, auth_token: Optional[str], public_url: Optional[str]) -> None:
        self.public_url = public_url
        self._validator = RequestValidator(auth_token) if auth_token else None

    @property
    def configured(self) -> bool:
        return self._validator is not None

    def signed_url(self, request: Request) -> str:
        """The URL Twilio signed: PUBLIC_URL + path + query behind a proxy, else our own."""
        if self.public_url:
            url = self.public_url + request.path
            return f"{url}?{request.query_string}" if request.query_string else url
        return request.url

    def is_authentic(self, request: Request) -> bool:
        signature = request.headers.get("X-Twilio-Signature")
        if self._validator is None or not signature:
            return False
        try:
            return self._validator.validate(self.signed_url(request), signed_params(request), signature)
        except Exception:  # a malformed request is simply not authentic
            logger.exception("twilio_ivr: signature check failed")
            return False


def signed_params(request: Request) -> RequestParameters:
    """The posted form as Twilio signed it: blank values included (Sanic's request.form
    drops them, and a UK caller's CallerZip= would then fail the check)."""
    if "application/x-www-form-urlencoded" not in (request.content_type or ""):
        return request.form
    body = (request.body or b"").decode("utf-8", errors="replace")
    return RequestParameters(urllib.parse.parse_qs(body, keep_blank_values=True))


def forbidden(request: Request) -> HTTPResponse:
    logger.warning("twilio_ivr: refused %s %s: missing or invalid X-Twilio-Signature", request.method, request.path)
    return response.text("Forbidden: invalid or missing Twilio signature", status=403)
