"""What a request to the service says, checked once for every part (API, console, web chat):
its JSON body, the ticket id in its path, who acts, in which role, and their note."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Optional

from aiohttp import web

from bot.service.console.accounts import display_name_for
from bot.service.middlewares import CURRENT_SESSION, ApiError
from bot.service.typedefs import CONFIG_KEY, CONSOLE_KEY

MAX_AGENT_LEN = 100
MAX_NOTE_LEN = 2000


async def read_json(request: web.Request, limit: Optional[int] = None) -> Dict[str, Any]:
    """The body as a JSON object; with a `limit`, anything over that many bytes (declared or
    not) is refused with 413 before it is all read."""
    if limit is None:
        data = await request.read()  # bounded by the app's client_max_size
    else:
        too_large = ApiError(413, f"request body is larger than {limit // 1024} KB")
        if request.content_length is not None and request.content_length > limit:
            raise too_large
        data = bytearray()
        async for chunk in request.content.iter_chunked(8192):
            data += chunk
            if len(data) > limit:
                raise too_large
    try:
        body = json.loads(bytes(data).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "body must be valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "body must be a JSON object")
    return body


def valid_ticket_id(app: web.Application, ticket_id: str) -> str:
    """A reference in the form the catalog gives (its prefix, at least its counter digits)."""
    if not app[CONFIG_KEY].ticket_ids.is_valid(ticket_id):
        raise ApiError(400, f"malformed ticket id: {ticket_id!r}")
    return ticket_id


def ticket_id_param(request: web.Request) -> str:
    return valid_ticket_id(request.app, request.match_info["ticket_id"])


def acting_agent(body: Dict[str, Any]) -> str:
    """Who acts. With a console session it is the signed-in agent: an 'agent' in the body
    may be left out, and naming anyone else is refused."""
    agent = body.get("agent")
    session = CURRENT_SESSION.get()
    if session is not None:
        if agent is None or agent == session.name:
            return session.name
        raise ApiError(403, "'agent' must be the signed-in agent")
    if not isinstance(agent, str) or not agent.strip():
        raise ApiError(400, "'agent' must be a non-empty string")
    if len(agent) > MAX_AGENT_LEN:
        raise ApiError(400, f"'agent' is longer than {MAX_AGENT_LEN} characters")
    return agent.strip()


def require_specialist(action: str) -> None:
    """Callback work is for specialists; a bearer-token caller is trusted to be one."""
    session = CURRENT_SESSION.get()
    if session is not None and not session.is_specialist:
        raise ApiError(403, f"only a specialist can {action}")


def note_of(body: Dict[str, Any]) -> Optional[str]:
    note = body.get("note")
    if note is None:
        return None
    if not isinstance(note, str):
        raise ApiError(400, "'note' must be a string")
    if len(note) > MAX_NOTE_LEN:
        raise ApiError(400, f"'note' is longer than {MAX_NOTE_LEN} characters")
    return note


def shown_name(app: web.Application, agent: str) -> str:
    """The name a customer sees for this agent: the account's display_name (default: the
    account name capitalised)."""
    return display_name_for(app[CONSOLE_KEY].accounts, agent)


@dataclass(frozen=True)
class TicketRequest:
    """A request by an agent to act on a ticket: which one, who, their note, the whole body."""
    ticket_id: str
    agent: str
    note: Optional[str]
    body: Dict[str, Any]


async def ticket_request(request: web.Request) -> TicketRequest:
    """A malformed id, then a bad body, then someone acting in another's name: 400, 400, 403."""
    ticket_id = ticket_id_param(request)
    body = await read_json(request)
    return TicketRequest(ticket_id, acting_agent(body), note_of(body), body)
