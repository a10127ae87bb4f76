"""A request for a person is never lost to a look-alike intent (docs/design.md#handoff).

The classifier can read "hi, is this a bot? get me a real person" as a greeting or a bot
question, and "yes, put me through to someone" as a yes: the customer asked for a person and
was not heard. After the intent classifier, a message that asks for a person in so many words
(the `patterns` in config.yml) is a request for a person, whatever look-alike intent won. A
complaint the classifier is sure of keeps its intent: "I asked to speak to a manager and he
hung up" tells what went wrong, it asks for nobody now.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

REQUEST_HUMAN = "request_human"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class PersonRequestGuard(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # Regexes (case-insensitive) of "asks for a person"; none: the guard does nothing.
            "patterns": [],
            # Intents never overridden: the request itself, and "call me back" (handed off too).
            "keep": [REQUEST_HUMAN, "request_callback"],
            # Intents starting with this keep their place when at least this confident.
            "complaint_prefix": "complain_",
            "complaint_confidence": 0.5,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = config
        try:
            # A broken pattern fails the training and the start-up, never a customer's message.
            self._patterns = [re.compile(p, re.IGNORECASE) for p in config["patterns"]]
        except re.error as error:
            raise ValueError(f"PersonRequestGuard: a pattern in config.yml is not a regex: {error}") from error

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "PersonRequestGuard":
        return cls(config)

    def asks_for_person(self, text: str) -> bool:
        return any(p.search(text) for p in self._patterns)

    def _keeps(self, intent: Dict[str, Any]) -> bool:
        name, confidence = intent.get("name") or "", intent.get("confidence") or 0.0
        if name in self._config["keep"]:
            return True
        prefix = self._config["complaint_prefix"]
        return bool(prefix) and name.startswith(prefix) and confidence >= self._config["complaint_confidence"]

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            intent = message.get(INTENT) or {}
            if text.startswith("/") or self._keeps(intent) or not self.asks_for_person(text):
                continue
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != REQUEST_HUMAN]
            chosen = {"name": REQUEST_HUMAN, "confidence": 1.0}
            message.set(INTENT, chosen, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [chosen, *ranking], add_to_output=True)
        return messages
