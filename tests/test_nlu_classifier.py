"""bot.nlu.classifiers.SafeLogisticRegressionClassifier: Rasa's LogisticRegressionClassifier's
answers for every message it can classify, and nlu_fallback (never a crash) for the rest."""
from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import random as sparse_random

from bot.nlu.classifiers import SafeLogisticRegressionClassifier, mostly_latin

WIDTH, DENSE = 40, 3
INTENTS = ["greet", "complain_delivery", "request_human", "affirm"]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> SafeLogisticRegressionClassifier:
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    context = ExecutionContext(GraphSchema({}), "test")
    clf = SafeLogisticRegressionClassifier.create(
        {**SafeLogisticRegressionClassifier.get_default_config(), "C": 10.0}, storage, Resource("lr"), context)
    rng = np.random.default_rng(3)
    X = np.hstack([sparse_random(200, WIDTH, density=0.2, random_state=4).toarray(), rng.normal(size=(200, DENSE))])
    clf.clf.fit(X, [INTENTS[i % len(INTENTS)] for i in range(200)])
    return clf


def message(text: str, seed: int, sparse_width: int = WIDTH, dense: bool = True) -> Message:
    """Features laid out as our pipeline lays them out: per featurizer a sequence block (one
    row per token, never read by the classifier) and a sentence block; here three sparse
    sentence blocks (word and char CountVectors, regex) side by side, then a dense one."""
    msg = Message(data={TEXT: text})
    widths = [sparse_width // 2, sparse_width - sparse_width // 2 - 3, 3]
    for n, width in enumerate(widths):
        origin = f"featurizer-{n}"
        msg.add_features(Features(sparse_random(4, width, density=0.3, random_state=seed + 100 + n).tocoo(),
                                  FEATURE_TYPE_SEQUENCE, TEXT, origin))
        msg.add_features(Features(sparse_random(1, width, density=0.5, random_state=seed + n).tocoo(),
                                  FEATURE_TYPE_SENTENCE, TEXT, origin))
    if dense:
        msg.add_features(Features(np.random.default_rng(seed).normal(size=(1, DENSE)), FEATURE_TYPE_SENTENCE, TEXT, "dense"))
    return msg


@pytest.mark.parametrize("batch", [1, 7])
def test_same_intents_and_rankings_as_rasas_classifier(classifier, batch):
    ours = [message(f"my parcel is late {n}", n) for n in range(batch)]
    rasas = [message(f"my parcel is late {n}", n) for n in range(batch)]
    classifier.process(ours)
    LogisticRegressionClassifier.process(classifier, rasas)
    for a, b in zip(ours, rasas):
        assert a.get(INTENT) == b.get(INTENT)
        assert a.get(INTENT_RANKING_KEY) == b.get(INTENT_RANKING_KEY)
    assert {m.get(INTENT)["name"] for m in ours} <= set(INTENTS)


def test_what_it_cannot_classify_goes_to_fallback_in_a_mixed_batch(classifier):
    fine = message("my parcel is late", 1)
    no_words = message("🙂🙂", 2, sparse_width=WIDTH - 2)  # Rasa's own classifier crashes here
    other_script = message("包裹迟到了", 3)
    classifier.process([fine, no_words, other_script])
    assert fine.get(INTENT)["name"] in INTENTS
    for msg in (no_words, other_script):
        assert msg.get(INTENT) == {"name": "nlu_fallback", "confidence": 1.0}
        assert msg.get(INTENT_RANKING_KEY) == [{"name": "nlu_fallback", "confidence": 1.0}]


def test_the_training_matrix_is_rasas(classifier):
    messages = [message(f"m {n}", n) for n in range(5)]
    ours = classifier._create_X(messages)
    rasas = LogisticRegressionClassifier._create_X(classifier, messages)
    assert ours.shape == rasas.shape and (ours != rasas).nnz == 0


@pytest.mark.parametrize("text,expected", [
    ("my parcel is late", True), ("22/08/2025", True), ("4400918", True), ("包裹迟到了", False), ("🙂", False),
])
def test_script_detection(text, expected):
    assert mostly_latin(text) is expected
