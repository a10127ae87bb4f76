"""bot/rasa_ext/settings.py: the Rasa server's environment variables (names and defaults as the
README documents them), read in one place, and credentials.yml keys overriding them."""
from __future__ import annotations

import logging

from bot.rasa_ext.channels.rest import RedisRateLimiter, RestInput
from bot.rasa_ext.settings import IVRSettings, RasaSettings, RestSettings, current

EVERYTHING = {
    "REST_MAX_BODY_BYTES": "2048", "REST_RATE_PER_SECOND": "2.5", "REST_RATE_BURST": "4",
    "REDIS_URL": "redis://cache:6379/1", "REDIS_KEY_PREFIX": "shop:", "RASA_TOKEN": "rasa-secret",
    "TWILIO_AUTH_TOKEN": "twilio-secret", "PUBLIC_URL": "https://ivr.example.test/", "TWILIO_LANGUAGE": "en-US",
    "TWILIO_VOICE": "Polly.Amy", "TWILIO_HANDOFF_QUEUE": "support", "TWILIO_HANDOFF_DIAL": "+441234567890",
    "TWILIO_SPEECH_HINTS": "sofa, table", "TWILIO_WORKFLOW_SID": "WW123",
    "METRICS_TOKEN": "metrics-secret", "PROMETHEUS_MULTIPROC_DIR": "/tmp/prom", "SESSION_MAX_TURNS": "25",
}


def test_the_defaults_are_the_documented_ones():
    settings = RasaSettings.from_env({})
    assert settings.rest == RestSettings(max_body_bytes=16384, rate_per_second=5.0, burst=10.0, redis_url=None,
                                         gateway_token=None, key_prefix="complaints:")
    assert settings.ivr == IVRSettings(auth_token=None, public_url=None, language="en-GB", voice=None,
                                       handoff_queue="complaints", handoff_dial=None, speech_hints=None,
                                       workflow_sid=None, redis_url=None)
    assert (settings.metrics_token, settings.prometheus_multiproc_dir, settings.session_max_turns) == (None, None, 10)
    assert RasaSettings.from_env({name: "" for name in EVERYTHING}) == settings, "blank is unset"


def test_every_variable_is_read_by_its_name():
    settings = RasaSettings.from_env(EVERYTHING)
    assert settings.rest == RestSettings(2048, 2.5, 4.0, "redis://cache:6379/1", "rasa-secret", "shop:")
    assert settings.ivr == IVRSettings("twilio-secret", "https://ivr.example.test", "en-US", "Polly.Amy", "support",
                                       "+441234567890", "sofa, table", "WW123", "redis://cache:6379/1")
    assert (settings.metrics_token, settings.prometheus_multiproc_dir, settings.session_max_turns) == \
        ("metrics-secret", "/tmp/prom", 25)
    assert current(EVERYTHING) == settings


def test_credentials_override_the_environment_and_a_bad_number_falls_back_to_the_default(caplog):
    env = RestSettings.from_env({"REST_RATE_PER_SECOND": "2", "REST_RATE_BURST": "3"})
    with caplog.at_level(logging.WARNING):
        rest = env.overridden_by({"rate_per_second": "7", "burst": "", "max_body_bytes": "lots"})
    assert (rest.rate_per_second, rest.burst, rest.max_body_bytes) == (7.0, 3.0, 16384)
    assert "max_body_bytes='lots' is not a number" in caplog.text
    ivr = IVRSettings.from_env({"TWILIO_LANGUAGE": "en-US"}).overridden_by({"language": " ", "public_url": "https://x.test//"})
    assert (ivr.language, ivr.public_url) == ("en-US", "https://x.test")
    assert RasaSettings.from_env({"SESSION_MAX_TURNS": "-3"}).session_max_turns == 0


def test_the_rest_rate_limits_live_under_the_redis_key_prefix():
    channel = RestInput(RestSettings.from_env({"REDIS_URL": "redis://cache:6379/1", "REDIS_KEY_PREFIX": "shop:"}))
    assert isinstance(channel.limiter, RedisRateLimiter) and channel.limiter.key_prefix == "shop:ratelimit:rest:"
    assert RestInput(RestSettings(redis_url="redis://cache")).limiter.key_prefix == "complaints:ratelimit:rest:"
    assert RestInput(RestSettings(rate_per_second=0)).limiter is None, "0 turns the limit off"
