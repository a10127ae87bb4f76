"""Issue 11 on the whole product: the agent service's access log keeps conversation ids and
cookies out (item 5), and Rasa's own 429 reaches the page as 429, not 502 (item 6)."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest_asyncio

from tests.support.webchat import Chat



@pytest_asyncio.fixture
async def http():
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        yield session


async def test_the_access_log_has_no_conversation_ids_or_secrets(http, live_stack):
    chat = await Chat.start(http, live_stack.agent_url)
    ticket_id = (await chat.say("/complain_product_quality"))["ticket_id"]  # by payload: opens a ticket
    await chat.history()
    async with chat.ws() as ws:
        await ws.send_str("ping")
        assert await ws.receive_json(timeout=30) == {"type": "pong"}
    # The agents' side has ids in its paths and query strings.
    assert live_stack.agent(f"/api/tickets?conversation_id={chat.id}")["tickets"][0]["ticket_id"] == ticket_id
    live_stack.agent(f"/api/tickets/{ticket_id}")
    secret = chat.cookie["Cookie"].split("=", 1)[1]
    signature = secret.rsplit(".", 1)[1]

    log = live_stack.log_path.read_text(errors="replace")
    access = [line for line in log.splitlines() if "aiohttp.access" in line]
    for line in access:
        assert chat.id not in line and ticket_id not in line and "conversation_id=" not in line, line
    assert any('"POST /chat/api/messages" 200' in line for line in access), access[-5:]
    assert any('"GET /chat/api/history" 200' in line for line in access)
    assert any('"GET /api/tickets/{ticket_id}" 200' in line for line in access)
    assert signature not in log  # the cookie's secret part nowhere in the product's output


async def test_rasas_own_429_reaches_the_page_as_429(http, live_stack):
    chat = await Chat.start(http, live_stack.agent_url)
    # Rasa's REST channel allows bursts of 10 per conversation (then 5/s): 20 at once overflow it.
    async def one():
        resp = await http.post(f"{chat.base}/chat/api/messages", json={"text": "hello"}, headers=chat.cookie)
        return resp.status, resp.headers.get("Retry-After"), await resp.json()

    results = await asyncio.gather(*(one() for _ in range(20)))
    statuses = [status for status, _, _ in results]
    assert 502 not in statuses
    limited = [r for r in results if r[0] == 429]
    assert limited and all(int(retry) >= 1 and body["error"] for _, retry, body in limited)
    assert set(statuses) <= {200, 429}
