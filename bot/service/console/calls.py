"""Outbound second-explanation callbacks through Twilio's Calls API.

The specialist's own phone rings first; when they answer, Twilio says who is being called
and then dials the customer, showing our number (TWILIO_CALLER_ID):

    <Response><Say>Connecting you to the customer ...</Say>
      <Dial callerId="+44..."><Number>+44 customer</Number></Dial></Response>

TWILIO_API_BASE_URL (tests, an egress proxy) replaces https://api.twilio.com in the client's
HTTP layer only; everything else is the twilio library as in production.
"""
from __future__ import annotations

from typing import Any, Dict, Optional
from urllib.parse import urlsplit

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from bot.speech import speakable_order_id

TIMEOUT = 15.0


class CallError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class BaseUrlHttpClient(AsyncTwilioHttpClient):
    """The twilio library's aiohttp client, sending https://api.twilio.com/... to `base_url`."""

    def __init__(self, base_url: str, timeout: float = TIMEOUT) -> None:
        super().__init__(pool_connections=False, timeout=timeout)
        self.base_url = base_url.rstrip("/")

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any):
        parts = urlsplit(url)
        if parts.hostname and (parts.hostname == "twilio.com" or parts.hostname.endswith(".twilio.com")):
            url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return await super().request(method, url, *args, **kwargs)


def callback_twiml(ticket_id: str, customer_phone: str, caller_id: str) -> str:
    response = VoiceResponse()
    response.say(f"Connecting you to the customer for the second-explanation callback on complaint "
                 f"{speakable_order_id(ticket_id)}. Please hold.")
    dial = response.dial(caller_id=caller_id)
    dial.number(customer_phone)
    return str(response)


async def start_callback_call(*, account_sid: str, auth_token: str, caller_id: str, specialist_phone: str,
                              customer_phone: str, ticket_id: str, base_url: Optional[str] = None) -> Dict[str, Any]:
    http_client = BaseUrlHttpClient(base_url) if base_url else AsyncTwilioHttpClient(pool_connections=False, timeout=TIMEOUT)
    client = Client(account_sid, auth_token, http_client=http_client)
    try:
        call = await client.calls.create_async(
            to=specialist_phone, from_=caller_id,
            twiml=callback_twiml(ticket_id, customer_phone, caller_id),
        )
    except TwilioRestException as exc:
        raise CallError(502, f"Twilio refused the call: {exc.msg} (HTTP {exc.status})") from None
    except (TwilioException, OSError) as exc:
        raise CallError(502, f"Twilio unreachable: {type(exc).__name__}") from None
    except Exception as exc:  # aiohttp errors, timeouts
        raise CallError(502, f"Twilio unreachable: {type(exc).__name__}") from None
    return {"sid": call.sid, "status": str(call.status) if call.status is not None else None,
            "to": specialist_phone, "customer": customer_phone}
