"""bot.rasa_ext.nlu.classifiers.SafeLogisticRegressionClassifier: Rasa's LogisticRegressionClassifier's
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

from bot.rasa_ext.nlu.classifiers import SafeLogisticRegressionClassifier, mostly_latin
from tests.support import nlu_pipeline

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


# ---- bot.rasa_ext.nlu.svm_classifier.TfidfSVMClassifier (issue 12: the classifier chosen by measurement)
SVM_DATA = {
    "complain_delivery": ["my parcel never arrived", "the delivery is late again", "where is my parcel",
                          "courier never came", "still no parcel", "my order has not been delivered"],
    "complain_billing": ["i was charged twice", "you took two payments from my card", "double charged on my card",
                         "a charge i do not recognise", "billed twice this month", "my card was debited twice"],
    "affirm": ["yes", "yes please", "that's right", "correct", "yep", "sure"],
    "request_human": ["i want a human", "let me speak to a person", "get me an agent", "real person please",
                      "can somebody ring me", "human not a bot"],
}


def featurized(texts, pipeline):
    """Messages through the product's own featurizers (tokens, word and char n-gram counts)."""
    return pipeline.featurized(texts)


@pytest.fixture(scope="module")
def svm(tmp_path_factory):
    examples = [Message(data={TEXT: t, INTENT: i}) for i, ts in SVM_DATA.items() for t in ts]
    trained = nlu_pipeline.train(tmp_path_factory.mktemp("svm"), examples)
    return trained.classifier, trained


def test_svm_classifies_and_ranks_categories_apart_from_conversation_intents(svm):
    clf, pipeline = svm
    late, charged, yes = featurized(["my parcel is late", "charged twice on my card", "yes please"], pipeline)
    clf.process([late, charged, yes])
    assert late.get(INTENT)["name"] == "complain_delivery"
    assert yes.get(INTENT)["name"] == "affirm"
    for msg, expected in ((late, "delivery"), (charged, "billing")):
        category = msg.get("complaint_category")
        assert category["name"] == expected
        # only categories compete in this ranking, never affirm or request_human
        assert {r["name"] for r in category["ranking"]} == {"delivery", "billing"}
        assert 0.5 < category["confidence"] <= 1.0
        assert sum(r["confidence"] for r in category["ranking"]) == pytest.approx(1.0)
    assert "complaint_category" in late.as_dict(only_output_properties=True)  # reaches the parse data
    ranking = late.get(INTENT_RANKING_KEY)
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)  # calibrated probabilities


def test_svm_sends_what_it_cannot_classify_to_fallback(svm):
    clf, pipeline = svm
    fine, other_script = featurized(["my parcel is late", "包裹迟到了"], pipeline)
    clf.process([fine, other_script])
    assert fine.get(INTENT)["name"] == "complain_delivery"
    assert other_script.get(INTENT) == {"name": "nlu_fallback", "confidence": 1.0}
    assert other_script.get("complaint_category") is None


def test_tfidf_weights_match_sklearns_sublinear_tfidf_per_block():
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    from bot.rasa_ext.nlu.svm_classifier import TfidfWeights

    texts = ["my parcel is late late", "charged twice", "parcel charged", "yes"]
    blocks = [CountVectorizer(analyzer=a).fit_transform(texts) for a in ("word", "char_wb")]
    counts = hstack(blocks, format="csr")
    ours = TfidfWeights.fit(counts, [blocks[0].shape[1], counts.shape[1]]).transform(counts)
    sklearns = hstack([TfidfTransformer(sublinear_tf=True).fit_transform(b) for b in blocks], format="csr")
    assert np.allclose(ours.toarray(), sklearns.toarray())
