"""The customer half of web chat, served by the agent service.

Public (no token): ``GET /chat`` (the page and its two static files), ``POST
/chat/api/conversations`` (issues a conversation and its cookie), and, with that cookie,
``POST /chat/api/messages``, ``GET /chat/api/history``, ``GET /chat/ws``. Bearer-protected: ``POST
/api/conversations/{conversation_id}/messages`` (an agent writes into a conversation).

``create_app`` calls ``setup_webchat(app)`` (bot/service/webchat/app.py), which opens the hub
with the app (in-memory, or Redis pub/sub when REDIS_URL is set so several agent-service
processes can serve chats). The URLs are in bot/service/routes.py.
"""
