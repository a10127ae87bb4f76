"""`python -m bot.service`: serve the agent API, console and web chat on AGENT_API_HOST:AGENT_API_PORT.

The environment is read here, once, into typed settings (bot/service/config.py); the
application and its parts are handed those and never look at the environment themselves.
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Mapping, Optional

from aiohttp import web

from bot.runtime import secrets_file
from bot.service.access_log import RouteAccessLogger
from bot.service.app import create_app
from bot.service.config import AgentApiConfig, parse_port
from bot.service.console.accounts import AccountError, generated_admin
from bot.service.console.config import ConsoleConfig


def console_config(env: Mapping[str, str] = os.environ) -> Optional[ConsoleConfig]:
    """The console's settings from the environment. With no accounts configured (a plain
    `make run`), one account `admin` (agent and specialist) with a fresh random password,
    written to var/secrets.env (0600) like the launcher's generated secrets."""
    try:
        config = ConsoleConfig.from_env(env)
    except (AccountError, ValueError) as exc:
        print(f"console configuration: {exc}", file=sys.stderr)
        return None
    if config.webhook_url and not config.webhook_secret:
        print("TICKETING_WEBHOOK_URL is set but TICKETING_WEBHOOK_SECRET is not (hand-offs are only sent signed)",
              file=sys.stderr)
        return None
    if not config.accounts:
        # Run on its own (not through the launcher, which passes the account it generated):
        # the password goes to a 0600 file, never to the output (and so the logs).
        account, password = generated_admin()
        config = config.with_(accounts={account.name: account})
        port = env.get("AGENT_API_PORT", "8080")
        var = Path(env.get("VAR_DIR") or Path(__file__).resolve().parents[2] / "var")
        path = secrets_file.write(var, {"CONSOLE_ADMIN_PASSWORD": password}, {"CONSOLE_ADMIN_PASSWORD": "the console's admin account"})
        print(f"No console accounts configured (AGENT_ACCOUNTS_FILE / AGENT_ACCOUNTS); for this run sign in at "
              f"http://localhost:{port}/console as admin with the password in {path} (readable only by you)", flush=True)
    return config


def main(env: Mapping[str, str] = os.environ) -> int:
    logging.basicConfig(level=env.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not env.get("AGENT_API_TOKEN"):
        # Refuse to start rather than serve an API nobody can use (or, worse, think is open).
        print("AGENT_API_TOKEN must be set", file=sys.stderr)
        return 2
    try:
        port = parse_port(env.get("AGENT_API_PORT"))  # before anything is written (console_config may)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    console = console_config(env)
    if console is None:
        return 2
    try:
        config = AgentApiConfig.from_env(env, console=console, port=port)
    except ValueError as exc:
        print(f"agent service configuration: {exc}", file=sys.stderr)
        return 2
    web.run_app(create_app(config), host=config.host, port=config.port,
                access_log_class=RouteAccessLogger)  # no ids or secrets in the access log
    return 0


if __name__ == "__main__":
    sys.exit(main())
