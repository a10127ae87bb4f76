"""The calls the customer's chat page makes to the web chat gateway (bot/service/webchat), for
tests over HTTP: against the whole product (an aiohttp ClientSession and the stack's address)
or against an app in process (aiohttp's test client, base "")."""
from __future__ import annotations

import uuid
from typing import Dict, Tuple

import aiohttp

from tests.support.http import json_of

# The conversation cookie's name, as the page receives it (the contract, spelled out).
COOKIE = "chat_conversation"


def new_id() -> str:
    """A conversation id of the form the gateway gives out (a UUID)."""
    return str(uuid.uuid4())


async def start_conversation(http, base: str = "") -> Tuple[str, Dict[str, str]]:
    """What the page does first: the server names the conversation and sets its cookie.
    (Sent by hand: the cookie is Secure, and a client jar keeps it off plain http.)"""
    resp = await http.post(f"{base}/chat/api/conversations")
    body = await json_of(resp, 201)
    return body["conversation_id"], {"Cookie": f"{COOKIE}={resp.cookies[COOKIE].value}"}


class Chat:
    """The calls the chat page makes, for one conversation."""

    def __init__(self, http: aiohttp.ClientSession, base: str, conversation_id: str, cookie: dict) -> None:
        self.http, self.base, self.id, self.cookie = http, base, conversation_id, cookie

    @classmethod
    async def start(cls, http, base: str) -> "Chat":
        return cls(http, base, *(await start_conversation(http, base)))

    async def say(self, text: str, status: int = 200):
        resp = await self.http.post(f"{self.base}/chat/api/messages", json={"conversation_id": self.id, "text": text},
                                    headers=self.cookie)
        return await json_of(resp, status)

    async def history(self):
        return await json_of(await self.http.get(f"{self.base}/chat/api/history", headers=self.cookie), 200)

    def ws(self):
        return self.http.ws_connect(f"{self.base}/chat/ws", headers=self.cookie)
