"""What makes training from scratch fast (issue 12: under 60 s on two cores) changes nothing a
trained model says, and keeps Rasa's training cache honest:

- our tokenizer gives Rasa's tokens, and a token's fingerprint, computed once, still changes
  whenever the token does (RegexFeaturizer flags patterns on tokens after they were hashed);
- the featurizer's features hash their arrays: equal features, equal fingerprints; any other
  value or place, another fingerprint;
- the SVMs are saved as plain arrays and loaded back with the same answers, and a file that
  would need pickle to load is refused;
- the importer reads the NLU files once, and gives the same data as Rasa's own importer; its
  examples copy cheaply and still copy deeply (a copy changed leaves the original as it was),
  and keep their fingerprint only while nothing in them changes.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import scipy.sparse
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer as RasaWhitespaceTokenizer
from rasa.shared.importers import utils as importer_utils
from rasa.shared.importers.importer import TrainingDataImporter
from rasa.shared.importers.rasa import RasaFileImporter as RasaYamlFileImporter
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.rasa_ext.importers import ImportedExample, RasaFileImporter
from bot.rasa_ext.nlu import pipeline
from bot.rasa_ext.nlu.featurizers import SparseFeatures
from bot.rasa_ext.nlu.svm_classifier import CalibratedSVM, TfidfSVMClassifier
from bot.rasa_ext.nlu.tokenizers import WhitespaceTokenizer
from tests.support import nlu_pipeline

TEXTS = ["my parcel is late!!", "I was charged £49.99 twice on 2026-11-02", "ORD-5501298 never came 😡",
         "  still   no parcel  ", "café crème machine broke", "", "can somebody ring me?"]


def tokens(tokenizer, text):
    return tokenizer.tokenize(Message(data={TEXT: text}), TEXT)


@pytest.mark.parametrize("text", TEXTS)
def test_the_tokens_are_rasas(text):
    ours = tokens(WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()), text)
    rasas = tokens(RasaWhitespaceTokenizer(RasaWhitespaceTokenizer.get_default_config()), text)
    assert [(t.text, t.start, t.end, t.lemma, t.data) for t in ours] == [(t.text, t.start, t.end, t.lemma, t.data)
                                                                          for t in rasas]


def test_a_token_fingerprint_follows_the_token():
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    late, same, elsewhere = tokens(tokenizer, "late"), tokens(tokenizer, "late"), tokens(tokenizer, " late")
    assert late[0].fingerprint() == same[0].fingerprint()
    assert late[0].fingerprint() != elsewhere[0].fingerprint()  # another offset
    before = late[0].fingerprint()
    late[0].set("pattern", {"order_ref": False})  # as RegexFeaturizer does, after the token was hashed
    assert late[0].fingerprint() != before
    same[0].set("pattern", {"order_ref": False})
    assert late[0].fingerprint() == same[0].fingerprint()


def test_a_message_fingerprint_follows_its_tokens():
    """Rasa caches a message's fingerprint until the message is changed; RegexFeaturizer
    changes the tokens, then adds features (which resets the message's)."""
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    message = Message(data={TEXT: "still no parcel", INTENT: "complain_delivery"})
    tokenizer.process([message])
    before = message.fingerprint()
    for token in message.get("text_tokens"):
        token.set("pattern", {"order_ref": False})
    message.add_features(SparseFeatures(scipy.sparse.coo_matrix(np.ones((1, 2))), FEATURE_TYPE_SENTENCE, TEXT, "regex"))
    assert message.fingerprint() != before


def features(dense):
    return SparseFeatures(scipy.sparse.coo_matrix(np.asarray(dense, dtype=float)), FEATURE_TYPE_SENTENCE, TEXT, "cv")


def test_sparse_features_fingerprints():
    base = features([[0, 1, 2, 0]])
    assert base.fingerprint() == features([[0, 1, 2, 0]]).fingerprint()
    for other in ([[0, 1, 3, 0]], [[1, 0, 2, 0]], [[0, 1, 2, 0, 0]], [[0, 1, 2, 0], [0, 0, 0, 0]]):
        assert features(other).fingerprint() != base.fingerprint(), other
    renamed = SparseFeatures(base.features, FEATURE_TYPE_SENTENCE, TEXT, "another featurizer")
    assert renamed.fingerprint() != base.fingerprint()


def test_a_saved_svm_loads_back_with_the_same_answers(tmp_path):
    rng = np.random.default_rng(0)
    X = scipy.sparse.random(120, 300, density=0.05, random_state=2, format="csr")
    y = np.array(["complain_delivery", "complain_billing", "affirm"])[rng.integers(0, 3, 120)]
    fitted = CalibratedSVM.fit(X, y, C=1.0, class_weight="balanced", folds=3)
    fitted.save(tmp_path / "intents.npz")
    loaded = CalibratedSVM.load(tmp_path / "intents.npz")
    assert list(loaded.classes_) == list(fitted.classes_)
    assert loaded.temperature == fitted.temperature
    probabilities = fitted.predict_proba(X)
    np.testing.assert_allclose(loaded.predict_proba(X), probabilities, atol=1e-5)
    assert (loaded.predict_proba(X).argmax(axis=1) == probabilities.argmax(axis=1)).all()


def test_the_product_pipeline_classifies_after_loading(tmp_path):
    examples = [Message(data={TEXT: t, INTENT: i}) for i, ts in {
        "complain_delivery": ["my parcel never arrived", "still no parcel", "the courier never came",
                              "where is my order", "delivery is late again", "parcel lost"],
        "complain_billing": ["charged twice", "two payments taken", "a charge i don't recognise",
                             "billed twice", "my card was debited twice", "double charge"],
        "affirm": ["yes", "yes please", "correct", "that's right", "yep", "sure"],
    }.items() for t in ts]
    trained = nlu_pipeline.train(tmp_path, examples)  # saved, then loaded from the model storage
    parse = trained.parse("my parcel never came")
    assert parse["intent"]["name"] == "complain_delivery"
    assert parse["complaint_category"]["name"] == "delivery"


def test_a_model_file_that_needs_pickle_is_refused(tmp_path):
    path = tmp_path / "intents.npz"
    np.savez(path, classes=np.array([{"not": "an array of names"}], dtype=object), coef=np.zeros((1, 2)),
             intercept=np.zeros(1), temperature=np.array(1.0))
    with pytest.raises(ValueError):
        CalibratedSVM.load(path)


def test_the_nlu_files_are_read_once_and_are_rasas(monkeypatch):
    reads = []
    original = importer_utils.training_data_from_paths

    def counting(paths, language):
        reads.append(language)
        return original(paths, language)

    monkeypatch.setattr(importer_utils, "training_data_from_paths", counting)
    files = ["data/nlu/facts.yml", "data/nlu/handoff.yml"]
    ours = RasaFileImporter(config_file="config.yml", domain_path="domain.yml", training_data_paths=files)
    first, second = ours.get_nlu_data(), ours.get_nlu_data(language="en")
    assert reads == ["en"]
    rasas = RasaYamlFileImporter(config_file="config.yml", domain_path="domain.yml", training_data_paths=files)
    expected = rasas.get_nlu_data()
    assert first is second
    assert sorted(m.fingerprint() for m in first.training_examples) == sorted(
        m.fingerprint() for m in expected.training_examples)
    assert first.regex_features == expected.regex_features


def test_the_tuning_scripts_fit_the_classifier_config_yml_configures(tmp_path):
    """scripts/tune_understanding.py and compare_classifiers.py take the classifier's settings
    from config.yml (over the component's defaults): a setting changed there, such as the
    calibration folds, is what they measure too."""
    config = tmp_path / "config.yml"
    config.write_text("pipeline:\n  - name: WhitespaceTokenizer\n"
                      "  - name: bot.rasa_ext.nlu.svm_classifier.TfidfSVMClassifier\n    calibration_folds: 4\n")
    settings = pipeline.settings(TfidfSVMClassifier, config)
    assert settings["calibration_folds"] == 4
    assert settings["C"] == TfidfSVMClassifier.get_default_config()["C"]  # unset: the default
    assert "name" not in settings
    # A component the pipeline has twice (the two count featurizers) is read entry by entry.
    config.write_text("pipeline:\n  - name: bot.rasa_ext.nlu.svm_classifier.TfidfSVMClassifier\n    C: 2\n"
                      "  - name: TfidfSVMClassifier\n    C: 3\n")
    assert [s["C"] for s in pipeline.all_settings(TfidfSVMClassifier, config)] == [2, 3]
    with pytest.raises(ValueError, match="2 times"):
        pipeline.settings(TfidfSVMClassifier, config)


def example():
    return ImportedExample.of(Message(data={TEXT: "ORD-5501298 never came", INTENT: "complain_delivery",
                                            "entities": [{"entity": "order_ref", "value": "ORD-5501298"}]}))


def test_an_imported_example_copies_deeply():
    original = example()
    twin = copy.deepcopy(original)
    assert type(twin) is ImportedExample and twin.fingerprint() == original.fingerprint()
    twin.get("entities")[0]["value"] = "ORD-0000000"
    twin.output_properties.add("intent")
    assert original.get("entities")[0]["value"] == "ORD-5501298"
    assert "intent" not in original.output_properties


def test_an_imported_example_keeps_its_fingerprint_only_while_unchanged():
    message = example()
    before = message.fingerprint()
    message.set(INTENT, "complain_delivery")  # what TrainingData does to every example: strip its intent
    assert message.fingerprint() == before
    message.set(INTENT, "complain_billing")
    assert message.fingerprint() != before
    message.set(INTENT, "complain_delivery")
    assert message.fingerprint() == before
    message.set(INTENT, "complain_delivery", add_to_output=True)
    assert INTENT in message.output_properties


def test_the_merged_training_data_is_rasas():
    def merged(importers):
        config = {"importers": importers} if importers else {}
        importer = TrainingDataImporter.load_from_dict(config, "config.yml", "domain.yml",
                                                       ["data/nlu/facts.yml", "data/nlu/handoff.yml"])
        return importer.get_nlu_data("en")

    ours, rasas = merged([{"name": "bot.rasa_ext.importers.RasaFileImporter"}]), merged(None)
    assert {type(m) for m in ours.nlu_examples} == {ImportedExample}
    assert ours.fingerprint() == rasas.fingerprint()
    assert len(ours.training_examples) == len(rasas.training_examples)
