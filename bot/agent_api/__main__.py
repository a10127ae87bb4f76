"""`python -m bot.agent_api`: serve the agent API and console on AGENT_API_HOST:AGENT_API_PORT."""
from __future__ import annotations

import logging
import os
from pathlib import Path
import sys

from aiohttp import web

from bot import secrets_file
from bot.agent_api.access_log import RouteAccessLogger
from bot.agent_api.app import create_app


def console_config():
    """The console's settings from the environment. With no accounts configured (a plain
    `make run`), one account `admin` (agent and specialist) with a fresh random password,
    written to var/secrets.env (0600) like the launcher's generated secrets."""
    from bot.console.accounts import AccountError, generated_admin
    from bot.console.config import ConsoleConfig

    try:
        config = ConsoleConfig.from_env()
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
        port = os.environ.get("AGENT_API_PORT", "8080")
        var = Path(os.environ.get("VAR_DIR") or Path(__file__).resolve().parents[2] / "var")
        path = secrets_file.write(var, {"CONSOLE_ADMIN_PASSWORD": password}, {"CONSOLE_ADMIN_PASSWORD": "the console's admin account"})
        print(f"No console accounts configured (AGENT_ACCOUNTS_FILE / AGENT_ACCOUNTS); for this run sign in at "
              f"http://localhost:{port}/console as admin with the password in {path} (readable only by you)", flush=True)
    return config


def main() -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not os.environ.get("AGENT_API_TOKEN"):
        # Refuse to start rather than serve an API nobody can use (or, worse, think is open).
        print("AGENT_API_TOKEN must be set", file=sys.stderr)
        return 2
    try:
        port = int(os.environ.get("AGENT_API_PORT", "8080"))
    except ValueError:
        print("AGENT_API_PORT must be an integer", file=sys.stderr)
        return 2
    console = console_config()
    if console is None:
        return 2
    web.run_app(create_app({"console": console}), host=os.environ.get("AGENT_API_HOST", "0.0.0.0"), port=port,
                access_log_class=RouteAccessLogger)  # no ids or secrets in the access log
    return 0


if __name__ == "__main__":
    sys.exit(main())
