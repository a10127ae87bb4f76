"""Helpers of the test suite, one of each (tests themselves are in tests/unit and tests/live;
fixtures in tests/conftest.py and tests/live/conftest.py).

Starting the product: live (LiveStack, the whole product as `make run` starts it), cluster
(servers one by one, for scale-out and faults), edge_stack (the IVR-configured stack),
redis_server, action_faults (a fault in the middle of a turn).
Talking to it: http (json_of), webchat (the chat page's calls), chat_page and browser
(Chromium), console_sign_in, console_stand_ins (Twilio and a ticketing receiver),
rasa_stand_in (Rasa's HTTP API, in process), ivr_prompts.
Test data: tickets (ticket documents and the reference format), trackers (actions called
directly), domain, stories (tests/e2e), long_paste, throttle_clock.
"""
