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
from typing import Any, Dict, List, Optional, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.tensorflow.constants import RANKING_LENGTH
from scipy.sparse import csr_matrix, hstack, vstack

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

    def _features(self, message: Message) -> Optional[csr_matrix]:
        """The message's feature row as Rasa builds it (sentence-level sparse, then dense
        features), or None when the message can't be classified. Built once per message:
        building it twice was 5 % of the Rasa server's CPU per turn (py-spy, make bench)."""
        parts = [
            csr_matrix(f.features) for f in (message.get_sparse_features(attribute=TEXT)[1],
                                             message.get_dense_features(attribute=TEXT)[1]) if f is not None
        ]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else hstack(parts, format="csr")

    def _create_X(self, messages: List[Message]) -> csr_matrix:
        rows = [self._features(m) for m in messages]
        return vstack([r if r is not None else csr_matrix((1, 0)) for r in rows], format="csr")

    def process(self, messages: List[Message]) -> List[Message]:
        classifiable, rows = [], []
        for message in messages:
            row = self._features(message) if mostly_latin(message.get(TEXT) or "") else None
            if row is not None and row.shape[1] == self.clf.n_features_in_:
                classifiable.append(message)
                rows.append(row)
        if classifiable:
            probas = self.clf.predict_proba(rows[0] if len(rows) == 1 else vstack(rows, format="csr"))
            ranking_length = self.config[RANKING_LENGTH]
            for message, row_probas in zip(classifiable, probas):
                ranking = sorted(
                    ({"name": name, "confidence": confidence} for name, confidence in zip(self.clf.classes_, row_probas)),
                    key=lambda e: -e["confidence"],
                )
                message.set(INTENT, ranking[0], add_to_output=True)
                message.set(INTENT_RANKING_KEY, ranking[:ranking_length] if ranking_length > 0 else ranking,
                            add_to_output=True)
        for message in messages:
            if not any(message is m for m in classifiable):
                intent = {"name": FALLBACK, "confidence": 1.0}
                message.set(INTENT, intent, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
        return messages
