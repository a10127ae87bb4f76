"""`python -m bot.agent_api`: serve the agent API on AGENT_API_HOST:AGENT_API_PORT."""
from __future__ import annotations

import logging
import os
import sys

from aiohttp import web

from bot.agent_api.app import create_app


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
    web.run_app(create_app(), host=os.environ.get("AGENT_API_HOST", "0.0.0.0"), port=port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
