"""The console tests' stand-ins (tests/support/console_stand_ins.py) behave like the real
thing: Twilio's Calls API as the twilio library sees it, and a ticketing receiver's signature
check against the published HMAC test vector."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from bot.service.console.ticket_webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER
from tests.support.console_stand_ins import (
    ACCOUNT_SID, AUTH_TOKEN, CALLER_ID, KNOWN_VECTOR, WEBHOOK_SECRET, FakeTwilio, ThreadedServer, WebhookReceiver,
    receiver_accepts,
)


# ---- the stand-ins answer as the real services do ---------------------------------------
@pytest.fixture
def fake_twilio_server():
    fake = FakeTwilio()
    server = ThreadedServer(fake.app()).start()
    yield fake, server
    server.stop()


async def test_fake_twilio_answers_the_twilio_library_like_twilio(fake_twilio_server):
    from twilio.base.exceptions import TwilioRestException

    from bot.service.console.calls import start_callback_call

    fake, server = fake_twilio_server
    call = await start_callback_call(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, caller_id=CALLER_ID,
                                     specialist_phone="+447700900001", customer_phone="+442079460958",
                                     ticket_id="C-20240305-0001", base_url=server.url)
    assert call["sid"].startswith("CA") and call["status"] == "queued"
    [request] = fake.requests
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    assert request["content_type"] == "application/x-www-form-urlencoded"
    assert request["form"]["To"] == ["+447700900001"] and request["form"]["From"] == [CALLER_ID]
    # The library's own error type for an API error, as with the real service.
    with pytest.raises(Exception) as raised:
        from twilio.rest import Client

        from bot.service.console.calls import BaseUrlHttpClient

        client = Client(ACCOUNT_SID, "wrong-token", http_client=BaseUrlHttpClient(server.url))
        await client.calls.create_async(to="+447700900001", from_=CALLER_ID, twiml="<Response/>")
    assert isinstance(raised.value, TwilioRestException) and raised.value.status == 401


async def test_webhook_receiver_checks_signatures_and_dedups(aiohttp_client):
    from bot.service.console.ticket_webhook import sign

    receiver = WebhookReceiver()
    client = await aiohttp_client(receiver.app())
    body = json.dumps({"idempotency_key": "C-1@t"}).encode()
    headers = {SIGNATURE_HEADER: sign(WEBHOOK_SECRET, body), IDEMPOTENCY_HEADER: "C-1@t"}
    assert (await client.post("/hooks/tickets", data=body, headers=headers)).status == 200
    assert (await client.post("/hooks/tickets", data=body, headers=headers)).status == 200
    bad = {**headers, SIGNATURE_HEADER: sign("other", body)}
    assert (await client.post("/hooks/tickets", data=body, headers=bad)).status == 401
    assert list(receiver.processed) == ["C-1@t"] and receiver.duplicates == 1 and receiver.bad_signatures == 1


def test_the_receiver_check_matches_the_published_vector():
    secret, body, digest = KNOWN_VECTOR
    assert receiver_accepts(secret, body, "sha256=" + digest)
    assert not receiver_accepts(secret, body, "sha256=" + hmac.new(secret.encode(), body, hashlib.md5).hexdigest())
    assert not receiver_accepts(secret, body, digest)  # the scheme prefix is part of the contract


def test_the_product_signs_as_a_receiver_expects():
    from bot.service.console.ticket_webhook import sign

    secret, body, digest = KNOWN_VECTOR
    assert sign(secret, body) == "sha256=" + digest
