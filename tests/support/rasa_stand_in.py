"""The one stand-in for Rasa's HTTP API, for the in-process tests of the agent service and
the web chat gateway.

Why a stand-in at all, when tests/support/live.py runs the real Rasa: these tests are about what the
agent service and the gateway do with Rasa's answers, including answers a running Rasa can't
be made to give on cue (a refused event post, a 429 on a turn, a turn held open until the
test lets it go, a conversation in a given state without playing the dialogue there). What
only the real Rasa can show (a resume really hands the conversation back, the assistant
answers again) is tested against it: tests/live/test_conversation_paths_live.py and
tests/live/test_conversations.py.

Like Rasa it records what is posted to /conversations/{id}/tracker/events into the tracker:
a bot event is in the history a reload shows, `resume` / `pause` change `paused`.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, List, Optional

import pytest_asyncio
from aiohttp import web


class RasaStandIn:
    def __init__(self, paused: bool = False, events: Optional[List[Dict[str, Any]]] = None) -> None:
        self.turns: List[Dict[str, Any]] = []          # bodies posted to the REST channel
        self.replies: List[Dict[str, Any]] = []          # what a turn answers
        self.turn_status, self.turn_headers = 200, {}  # how a turn is answered
        self.events_status = 200                       # how an event post is answered
        self.tracker: Dict[str, Any] = {"slots": {"ticket_id": None}, "paused": paused, "events": list(events or [])}
        self.posts: List[Dict[str, Any]] = []          # every event post: conversation_id, query, json
        self.gate: Optional[asyncio.Event] = None      # when set, every turn waits for it
        self.arrived = asyncio.Event()
        self.handed_off: set = set()  # conversations a turn here handed off (Rasa pauses them)

    @property
    def events(self) -> List[Dict[str, Any]]:
        """Every event posted, one by one, with its conversation as "cid"."""
        return [{"cid": post["conversation_id"], **event} for post in self.posts
                for event in (post["json"] if isinstance(post["json"], list) else [post["json"]])]

    @property
    def tracker_events(self) -> List[Dict[str, Any]]:
        return self.tracker["events"]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.webhook)
        app.router.add_get("/conversations/{cid}/tracker", self.get_tracker)
        app.router.add_post("/conversations/{cid}/tracker/events", self.post_events)
        return app

    async def webhook(self, request: web.Request) -> web.Response:
        turn = await request.json()
        self.turns.append(turn)
        self.arrived.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.turn_status != 200:
            return web.json_response({"error": "slow down"}, status=self.turn_status, headers=self.turn_headers)
        if any("handoff" in (r.get("custom") or {}) for r in self.replies):
            self.handed_off.add(turn["sender"])
        return web.json_response(self.replies)

    async def get_tracker(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        return web.json_response({"sender_id": cid, **self.tracker,
                                  "paused": self.tracker["paused"] or cid in self.handed_off})

    async def post_events(self, request: web.Request) -> web.Response:
        body = await request.json()
        cid = request.match_info["cid"]
        self.posts.append({"conversation_id": cid, "query": dict(request.query), "json": body})
        if self.events_status != 200:
            return web.json_response({"error": "refused"}, status=self.events_status)
        for event in body if isinstance(body, list) else [body]:  # Rasa takes one event or a list
            if event.get("event") == "bot":
                self.tracker["events"].append({**event, "timestamp": time.time()})
            elif event.get("event") in ("resume", "pause"):
                self.tracker["paused"] = event["event"] == "pause"
                self.handed_off.discard(cid) if event["event"] == "resume" else None
        return web.json_response({"sender_id": cid})


async def serve(aiohttp_server, stand_in: RasaStandIn) -> RasaStandIn:
    server = await aiohttp_server(stand_in.app())
    stand_in.url = str(server.make_url("")).rstrip("/")
    return stand_in


@pytest_asyncio.fixture
async def rasa(aiohttp_server):
    """Rasa with a conversation that is not handed off (the web chat's case)."""
    return await serve(aiohttp_server, RasaStandIn())
