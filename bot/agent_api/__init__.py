"""HTTP API for contact-centre agents: handoff queue, callbacks, ticket actions.

Run with `python -m bot.agent_api` (port AGENT_API_PORT, default 8080).
"""
from bot.agent_api.app import create_app
from bot.agent_api.config import AgentApiConfig

__all__ = ["create_app", "AgentApiConfig"]
