"""The agent service: one aiohttp application (`python -m bot.service`) serving the agent API
(api/), the agents' console (console/) and the customer's web chat (webchat/).

app.py builds it; config.py holds its settings (read once at start-up); typedefs.py every
typed key of its state; routes.py its whole URL table; middlewares.py errors and who may call
what. Shared by the parts: request_input.py (what a request says), ticket_changes.py (loading
and saving tickets), rasa_client.py (every call to Rasa), browser.py (static files, sockets),
app_state.py (state opened and closed with the app).
The parts build on each other one way only: the API on the console and the web chat, the
console on the web chat (tests/unit/test_service_imports.py keeps it so).
"""
