"""The address of the client behind a request, for per-client throttles.

``request.remote`` is the peer that opened the connection. Behind a reverse proxy that peer is
the proxy, so every client would share one address; the proxy's ``X-Forwarded-For`` is used
instead, but only when the peer is a configured trusted proxy (TRUSTED_PROXIES: addresses or
networks, comma separated). From anyone else the header is ignored: a client could otherwise
pick a new address per request and walk past every per-address limit.

IPv6 clients are counted by their /64 (one subscriber's allocation), since anyone holding a
/64 can use a fresh address per request.
"""
from __future__ import annotations

import ipaddress
from typing import Iterable, Optional, Sequence, Union

from aiohttp import web

from bot.service.typedefs import CONFIG_KEY

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]  # as bot.service.config.parse_networks gives


def _ip(text: str) -> Optional[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]:
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped or ip


def _trusted(ip, proxies: Sequence[Network]) -> bool:
    return ip is not None and any(ip.version == net.version and ip in net for net in proxies)


def _forwarded_hops(request: web.Request) -> Iterable[str]:
    for header in request.headers.getall("X-Forwarded-For", []):
        yield from (hop.strip() for hop in header.split(",") if hop.strip())


def client_ip(request: web.Request, proxies: Sequence[Network] = ()):
    """The client's address: the peer, or (from a trusted proxy) the nearest hop of
    X-Forwarded-For that is not itself a trusted proxy. None if unknown."""
    peer = _ip(request.remote or "")
    if not _trusted(peer, proxies):
        return peer
    hops = [_ip(hop) for hop in _forwarded_hops(request)]
    for hop in reversed(hops):  # the right end was written by our proxy; the left by anyone
        if hop is None:
            return peer  # a mangled header: fall back to the proxy, the safe (shared) choice
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer


def client_key(request: web.Request) -> str:
    """A stable text key for the client: its address, an IPv6 one cut to its /64."""
    ip = client_ip(request, request.app[CONFIG_KEY].trusted_proxies)
    if ip is None:
        return "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
