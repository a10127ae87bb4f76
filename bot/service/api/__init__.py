"""The agent API (/api): the hand-off queue, callbacks, ticket actions and search, for agents
and the systems around them (Bearer token or console session). URLs: bot/service/routes.py."""
