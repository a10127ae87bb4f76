"""Rasa's CountVectorsFeaturizer, featurizing many messages with one vectorizer call.

Rasa 3.6 calls the sklearn vectorizer twice per message (its tokens, then its joined text)
and builds two scipy matrices each time, so featurizing the ~8,600 training examples took
~25 of the ~80 s a `make model` from scratch took (issue 12 keeps training under 60 s on two
cores). A CountVectorizer reads each document on its own, so transforming all of them at
once and cutting the result into rows gives the same features, message by message
(tests/unit/test_nlu_featurizers.py compares them with Rasa's own). With
`sequence_features: false` the per-token features, which only sequence models (DIET, CRF)
read, are not built at all (config.yml: the SVM reads sentence features). Vocabulary,
persistence and loading are Rasa's.

The features it makes hash their arrays for the training cache's fingerprints instead of
printing every non-zero value as text first, as Rasa's Features do (~4 s of a training).
"""
from __future__ import annotations

import hashlib
from typing import List, Optional, Sequence, Text, Tuple

import numpy as np
import scipy.sparse
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.utils.io import deep_container_fingerprint

Rows = List[Optional[scipy.sparse.coo_matrix]]


class SparseFeatures(Features):
    """Features whose fingerprint hashes the matrix's arrays: equal for equal features (the
    featurizer's rows have sorted indices), different when any value or place differs."""

    def fingerprint(self) -> Text:
        if self._cached_fingerprint is None:
            m = self.features.tocoo()
            digest = hashlib.md5(np.asarray(m.shape, dtype=np.int64).tobytes())
            for array in (m.row, m.col, m.data):
                digest.update(np.ascontiguousarray(array).tobytes())
            self._cached_fingerprint = deep_container_fingerprint([self.type, self.origin, self.attribute,
                                                                   digest.hexdigest()])
        return self._cached_fingerprint


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class BatchCountVectorsFeaturizer(CountVectorsFeaturizer):
    @staticmethod
    def get_default_config():
        # sequence_features: false leaves out the per-token features; only sequence models
        # (DIET, CRF) read them, and building them is most of the featurizing time.
        return {**CountVectorsFeaturizer.get_default_config(), "sequence_features": True}

    def process(self, messages: List[Message]) -> List[Message]:
        if self.vectorizers is None:
            return super().process(messages)  # logs the untrained case
        for attribute in self._attributes:
            tokens = [self._get_processed_message_tokens_by_attribute(m, attribute) for m in messages]
            sequences, sentences = self._features_of_all(attribute, tokens)
            for message, sequence, sentence in zip(messages, sequences, sentences):
                self.add_features_to_message(sequence, sentence, attribute, message)
        return messages

    def add_features_to_message(self, sequence, sentence, attribute: str, message: Message) -> None:
        for kind, features in ((FEATURE_TYPE_SEQUENCE, sequence), (FEATURE_TYPE_SENTENCE, sentence)):
            if features is not None:
                message.add_features(SparseFeatures(features, kind, attribute, self._identifier))

    def _features_of_all(self, attribute: str, all_tokens: Sequence[List[str]]) -> Tuple[Rows, Rows]:
        """What `_create_features` gives for each message, from two vectorizer calls."""
        n = len(all_tokens)
        vectorizer = self.vectorizers.get(attribute)
        sequences: Rows = [None] * n
        sentences: Rows = [None] * n
        present = [i for i, tokens in enumerate(all_tokens) if tokens]
        if not vectorizer or not present:
            return sequences, sentences
        if self._config.get("sequence_features", True):
            by_token = vectorizer.transform([token for i in present for token in all_tokens[i]])
            lengths = np.array([len(all_tokens[i]) for i in present])
            ends = np.cumsum(lengths)
            for i, start, end in zip(present, ends - lengths, ends):
                sequences[i] = _rows(by_token, start, end)
        if attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            by_text = vectorizer.transform([" ".join(all_tokens[i]) for i in present])
            for row, i in enumerate(present):
                sentences[i] = _rows(by_text, row, row + 1)
        return sequences, sentences


def _rows(matrix: scipy.sparse.csr_matrix, start: int, end: int) -> scipy.sparse.coo_matrix:
    """Rows start..end of a CSR matrix as Rasa's featurizer returns them (indices sorted,
    COO), built from the arrays directly: scipy's row slicing costs ~0.3 ms a call."""
    lo, hi = matrix.indptr[start], matrix.indptr[end]
    cols, data = matrix.indices[lo:hi], matrix.data[lo:hi]
    rows = np.repeat(np.arange(end - start), np.diff(matrix.indptr[start:end + 1]))
    order = np.lexsort((cols, rows))
    return scipy.sparse.coo_matrix((data[order], (rows[order], cols[order])), shape=(end - start, matrix.shape[1]))
