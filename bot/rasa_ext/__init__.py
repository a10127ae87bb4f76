"""Everything that runs inside the Rasa server (`rasa run`), loaded by Rasa from our config files:

    channels/   input channels listed in credentials.yml: rest (the public edges, GET /metrics),
                twilio_ivr (the phone; ivr_call_flow, twiml, twilio_signature, ivr_state),
                socketio (the web widget), identity (metadata only a verifying channel may set)
    stores/     tracker and lock stores named in endpoints.yml / endpoints.redis.yml
    nlu/        NLU components named in config.yml
    importers.py the training-data importer named in config.yml (NLU files read once)
    patches/    the changes to Rasa's own code (speed-ups, session expiry, the turn hook that
                masks card numbers), applied by one install() that every channel and tracker
                store calls, refused on a Rasa release they were not measured on
    metrics.py  the Prometheus counters of the turns
    settings.py the environment variables read by all of the above

Importing this package imports nothing of Rasa's: the agent service uses channels.identity.
"""
