"""Fixtures of the in-process console tests: the agent service built with create_app against
stand-ins for Rasa's tracker API and Twilio's REST API."""
from __future__ import annotations

import pytest

from bot.service.app import create_app
from bot.service.console.config import ConsoleConfig
from tests.support.console_app import HANDED_OFF_HISTORY
from tests.support.console_sign_in import ACCOUNTS, TOKEN
from tests.support.console_stand_ins import ACCOUNT_SID, AUTH_TOKEN, CALLER_ID, FakeTwilio
from tests.support.live import ALWAYS_OPEN, catalog_with_hours
from tests.support.rasa_stand_in import RasaStandIn, serve


@pytest.fixture
async def rasa(aiohttp_server):
    """Rasa's tracker API as the console uses it (tests/support/rasa_stand_in.py: why a stand-in)."""
    return await serve(aiohttp_server, RasaStandIn(paused=True, events=HANDED_OFF_HISTORY))


@pytest.fixture
async def twilio(aiohttp_server):
    fake = FakeTwilio()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")
    return fake


@pytest.fixture
def open_catalog(tmp_path):
    return catalog_with_hours(tmp_path, ALWAYS_OPEN)


@pytest.fixture
def make_client(aiohttp_client, sqlite_store, rasa, twilio, open_catalog):
    async def make(store=None, **changes):
        console = ConsoleConfig(
            accounts=ACCOUNTS, poll_interval=0.1, catalog_path=open_catalog, twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN, twilio_caller_id=CALLER_ID, twilio_api_base_url=twilio.url,
            cookie_secure=False,  # the test client speaks plain http (CONSOLE_COOKIE_SECURE=0)
        ).with_(**changes)
        app = create_app({"token": TOKEN, "store": store or sqlite_store, "rasa_url": rasa.url, "console": console})
        return await aiohttp_client(app)

    return make
