"""What the service's two browser-facing parts (the console and the customer's web chat)
share: serving their static files, the host a page's Content-Security-Policy may open a
WebSocket back to, and closing open sockets at shutdown."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Awaitable, Callable, Iterable, Mapping

from aiohttp import WSCloseCode, web

from bot.service.middlewares import ApiError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HOST = re.compile(r"[A-Za-z0-9.\-:\[\]]{1,255}")


def static_files(directory: Path, content_types: Mapping[str, str]) -> Handler:
    """A handler for GET .../{name}: only the files named in `content_types`, nothing else
    in (or outside) the directory."""
    async def static_file(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in content_types:
            raise ApiError(404, "not found")
        return web.FileResponse(directory / name, headers={
            "Content-Type": f"{content_types[name]}; charset=utf-8", "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff"})

    return static_file


def socket_sources(request: web.Request) -> str:
    """``ws://host wss://host`` for a page's connect-src, or "" when the Host header is not a
    plain host (it is echoed into a header, so nothing else may pass)."""
    host = request.host if _HOST.fullmatch(request.host or "") else ""
    return f"ws://{host} wss://{host}" if host else ""


async def close_sockets(sockets: Iterable[web.WebSocketResponse]) -> None:
    """on_shutdown: close every open socket so that shutdown does not wait on them."""
    for ws in list(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
