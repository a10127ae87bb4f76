"""The agent service's access log, without conversation ids, ticket ids or secrets.

aiohttp's default line has the request line with its query string (the web chat used to put
the conversation id there) and the raw path (``/api/conversations/{id}/messages``,
``/console/tickets/{ticket_id}``). This logs the *route* instead (its registered template,
``{conversation_id}`` and all), never a query string, a Referer or a header value.
``python -m bot.service`` passes it to ``web.run_app(access_log_class=...)``.
"""
from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


def route_of(request: web.BaseRequest) -> str:
    match_info = getattr(request, "match_info", None)
    resource = getattr(getattr(match_info, "route", None), "resource", None)
    if resource is not None and getattr(resource, "canonical", None):
        return resource.canonical
    return "(no route)"  # a 404's path is whatever the client typed: not logged


class RouteAccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %s %.3fs', request.remote, request.method, route_of(request),
            response.status, response.body_length, time,
        )
