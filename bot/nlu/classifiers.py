"""Intent classifier: Rasa's sparse LogisticRegressionClassifier, made safe for what
customers really send.

- Rasa 3.6's classifier crashes on a message without words (empty, whitespace or
  emoji only): the RegexFeaturizer adds no columns for it, so its feature row is
  narrower than the ones trained on.
- A message in another script gets a confident but meaningless English intent.
Both are routed to nlu_fallback, whose action answers politely for each case.
`C` (inverse regularisation) is exposed because 5-fold cross-validation on the
training data prefers C=10 to sklearn's default of 1 (README, "NLU pipeline")."""
from __future__ import annotations

import unicodedata
from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

FALLBACK = "nlu_fallback"


def mostly_latin(text: str) -> bool:
    """English-script text, or a bare answer like '22/08/2025' or '4400918'."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return any(c.isdigit() for c in text)
    return sum("LATIN" in unicodedata.name(c, "") for c in letters) / len(letters) >= 0.5


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SafeLogisticRegressionClassifier(LogisticRegressionClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "C": 1.0}

    def __init__(self, config, name, model_storage, resource) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf.set_params(C=self.config["C"])

    def _classifiable(self, message: Message) -> bool:
        return mostly_latin(message.get(TEXT) or "") and self._create_X([message]).shape[1] == self.clf.n_features_in_

    def process(self, messages: List[Message]) -> List[Message]:
        classifiable = [m for m in messages if self._classifiable(m)]
        if classifiable:
            super().process(classifiable)
        for message in messages:
            if not any(message is m for m in classifiable):
                intent = {"name": FALLBACK, "confidence": 1.0}
                message.set(INTENT, intent, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
        return messages
