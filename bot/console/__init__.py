"""The agents' and specialists' web console, served by the agent service under /console.

``create_app`` calls ``setup_console(app)``. Pages: ``/console/login``, ``/console`` (the live
hand-off queue), ``/console/tickets/{ticket_id}`` (work a ticket, live chat takeover),
``/console/calls/{CallSid}`` (a transferred call -> its ticket), ``/console/callbacks`` (the
specialists' worklist). Live updates over ``/console/ws``. See README, "Agent console".
"""
from __future__ import annotations

from aiohttp import web

__all__ = ["setup_console"]


def setup_console(app: web.Application) -> None:
    # Imported here: bot.agent_api's middleware imports parts of this package.
    from bot.console.app import setup_console as setup

    setup(app)
