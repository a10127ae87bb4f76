"""Reading the service's JSON answers in tests, with aiohttp's client or its test client."""
from __future__ import annotations

from typing import Any


async def json_of(resp, status: int) -> Any:
    """The body of a JSON answer with this status; the body text in the failure otherwise."""
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    return await resp.json()
