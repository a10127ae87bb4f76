"""Complaint first-contact assistant: everything that is not a custom action.

- bot/rasa_ext/   runs inside the Rasa server: channels, tracker and lock stores, NLU
                  components, metrics, and the patches to Rasa's own code (one install()).
- bot/service/    the agent service, one aiohttp application: agent API, console, web chat.
- bot/runtime/    the processes: the launcher (`make run`), its supervisor, Rasa's CLI run
                  in-process, the action server's shared-secret check.
- bot/tickets/    the ticket contract (fields, statuses, callback states, reference format)
                  and its SQLite and Redis stores.
- catalog.py      the business rules (policy/catalog.yml), validated at load.
- settings.py, clock.py, privacy.py, speech.py, token_buckets.py, sqlite_worker.py:
                  shared by more than one of the above.
The custom actions (rasa-sdk) are the top-level `actions` package.
"""
