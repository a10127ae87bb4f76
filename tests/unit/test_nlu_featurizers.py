"""The batched featurizer (bot/rasa_ext/nlu/featurizers.py) gives every message exactly the
features Rasa's own CountVectorsFeaturizer gives it, for both analyzers the pipeline uses,
including messages without words; only the time differs (issue 12: training <= 60 s)."""
from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa_ext.nlu.featurizers import BatchCountVectorsFeaturizer

TEXTS = [
    ("my parcel never came", "complain_delivery"), ("charged twice for ORD-4400918!!", "complain_billing"),
    ("the kettle is broken", "complain_product_quality"), ("get me a human", "request_human"),
    ("yes", "affirm"), ("no thanks", "deny"), ("😡😡", "inform"), ("wat a joke, refund pls", "complain_refund_return"),
]
UNSEEN = ["my delivery is late and the driver was rude", "zzz qqq", "", "   ", "refund refund refund", "🙂"]


def messages(pairs):
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    out = [Message(data={TEXT: text, INTENT: intent}) for text, intent in pairs]
    tokenizer.process_training_data(TrainingData(out))
    return out


def unseen():
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    out = [Message(data={TEXT: text}) for text in UNSEEN]
    tokenizer.process(out)
    return out


def trained(cls, config, tmp_path, name):
    (tmp_path / name).mkdir()
    storage = LocalModelStorage(tmp_path / name)
    context = ExecutionContext(GraphSchema({}), node_name=name)
    featurizer = cls.create({**cls.get_default_config(), **config}, storage, Resource(name), context)
    featurizer.train(TrainingData(messages(TEXTS)))
    return featurizer


def features(message):
    # (origin is the component's node name, which differs by construction)
    return [(f.attribute, f.type, f.features.shape, f.features.toarray().tolist()) for f in message.features]


@pytest.mark.parametrize("config", [
    {"analyzer": "word", "min_ngram": 1, "max_ngram": 2},
    {"analyzer": "char_wb", "min_ngram": 2, "max_ngram": 5},
])
def test_every_message_gets_rasas_own_features(tmp_path, config):
    rasa = trained(CountVectorsFeaturizer, config, tmp_path, "rasa")
    batch = trained(BatchCountVectorsFeaturizer, config, tmp_path, "batch")
    for make in (lambda: messages(TEXTS), unseen):
        theirs, ours = make(), make()
        rasa.process(theirs)
        batch.process(ours)
        assert [features(m) for m in ours] == [features(m) for m in theirs]
        assert any(features(m) for m in ours)  # something was featurized at all


def test_without_sequence_features_the_sentence_features_are_rasas(tmp_path):
    config = {"analyzer": "char_wb", "min_ngram": 2, "max_ngram": 5}
    rasa = trained(CountVectorsFeaturizer, config, tmp_path, "rasa")
    batch = trained(BatchCountVectorsFeaturizer, {**config, "sequence_features": False}, tmp_path, "batch")
    theirs, ours = messages(TEXTS), messages(TEXTS)
    rasa.process(theirs)
    batch.process_training_data(TrainingData(ours))
    sentence = [[f for f in features(m) if f[1] == "sentence"] for m in theirs]
    assert [features(m) for m in ours] == sentence and any(sentence)


def test_training_data_is_featurized_in_one_pass(tmp_path, monkeypatch):
    batch = trained(BatchCountVectorsFeaturizer, {"analyzer": "char_wb", "min_ngram": 2, "max_ngram": 5}, tmp_path, "b")
    calls = []
    vectorizer = batch.vectorizers[TEXT]
    original = vectorizer.transform
    monkeypatch.setattr(vectorizer, "transform", lambda docs: calls.append(len(docs)) or original(docs))
    many = [(f"{text} number {i}", intent) for i in range(20) for text, intent in TEXTS]
    batch.process_training_data(TrainingData(messages(many)))
    # the tokens of all messages, then all their texts; Rasa makes two calls per message
    assert len(calls) == 2 and calls[1] == len(many) and calls[0] > len(many)
