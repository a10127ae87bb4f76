"""Two console accounts and the browser's sign-in steps, for tests of the agent console in
process (aiohttp's test client against the agent service app)."""
from __future__ import annotations

import re
from typing import Optional

from bot.service.console.accounts import Account, hash_password

TOKEN = "console-test-token"  # the agent API's bearer token in these tests
PASSWORDS = {"alice": "alice-password-1", "sam": "sam-password-1"}
ACCOUNTS = {
    "alice": Account("alice", hash_password(PASSWORDS["alice"]), "agent"),
    "sam": Account("sam", hash_password(PASSWORDS["sam"]), "specialist", "+447700900001"),
}


def form_token(text: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', text).group(1)


async def sign_in(client, name: str = "alice", password: Optional[str] = None, next_url: str = "/console"):
    """The browser's steps: load the form (gets its token and cookie), post it."""
    page = await client.get("/console/login")
    assert page.status == 200
    return await client.post("/console/login", allow_redirects=False, data={
        "name": name, "password": PASSWORDS.get(name, "x") if password is None else password,
        "_csrf": form_token(await page.text()), "next": next_url})


async def signed_in(client, name: str = "alice") -> str:
    """Signs in; the CSRF token the console page carries."""
    resp = await sign_in(client, name)
    assert resp.status == 303, await resp.text()
    page = await client.get("/console")
    assert page.status == 200
    return re.search(r'name="csrf-token" content="([^"]+)"', await page.text()).group(1)
