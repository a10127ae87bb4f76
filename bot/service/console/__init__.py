"""The agents' and specialists' web console, served by the agent service under /console.

``create_app`` calls ``setup_console(app)`` (bot/service/console/app.py); the URLs are in
bot/service/routes.py. Pages: ``/console/login``, ``/console`` (the live hand-off queue),
``/console/tickets`` (search), ``/console/tickets/{ticket_id}`` (work a ticket, live chat
takeover), ``/console/calls/{CallSid}`` (a transferred call -> its ticket),
``/console/callbacks`` (the specialists' worklist). Live updates over ``/console/ws``. See
README, "Agent console".
"""
