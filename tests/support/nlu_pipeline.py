"""The product's NLU pipeline (config.yml: whitespace tokens, word 1-2 and char_wb 2-5 counts
from the batched featurizer without per-token features, TfidfSVMClassifier) trained in process
on a few examples, for tests of the classifier."""
from __future__ import annotations

from typing import Dict, List, Sequence

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa_ext.nlu.featurizers import BatchCountVectorsFeaturizer
from bot.rasa_ext.nlu.svm_classifier import TfidfSVMClassifier
from bot.rasa_ext.nlu.tokenizers import WhitespaceTokenizer

NGRAMS = (("word", 1, 2), ("char_wb", 2, 5))  # as config.yml has them


class TrainedPipeline:
    def __init__(self, tokenizer: WhitespaceTokenizer, featurizers: List[BatchCountVectorsFeaturizer],
                 classifier: TfidfSVMClassifier) -> None:
        self.tokenizer, self.featurizers, self.classifier = tokenizer, featurizers, classifier

    def featurized(self, texts: Sequence[str]) -> List[Message]:
        """Messages through the featurizers only (tokens, word and char n-gram counts)."""
        messages = [Message(data={TEXT: t}) for t in texts]
        self.tokenizer.process(messages)
        for featurizer in self.featurizers:
            featurizer.process(messages)
        return messages

    def parse(self, text: str) -> Dict:
        """One message through the whole pipeline, as the parse data Rasa would output."""
        [message] = self.featurized([text])
        self.classifier.process([message])
        return message.as_dict(only_output_properties=True)


def train(storage_dir, examples: Sequence[Message], name: str = "svm") -> TrainedPipeline:
    """Train on `examples` (Messages with text and intent); the classifier is saved and loaded
    back, as a trained model's would be."""
    storage = LocalModelStorage(storage_dir)
    context = ExecutionContext(GraphSchema({}), name)
    data = TrainingData(list(examples))
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    tokenizer.process_training_data(data)
    featurizers = []
    for n, (analyzer, low, high) in enumerate(NGRAMS):
        config = {**BatchCountVectorsFeaturizer.get_default_config(), "analyzer": analyzer, "min_ngram": low,
                  "max_ngram": high, "sequence_features": False}
        featurizer = BatchCountVectorsFeaturizer.create(config, storage, Resource(f"cv{n}"), context)
        featurizer.train(data)
        featurizer.process_training_data(data)
        featurizers.append(featurizer)
    config = TfidfSVMClassifier.get_default_config()
    TfidfSVMClassifier.create(config, storage, Resource(name), context).train(data)
    return TrainedPipeline(tokenizer, featurizers, TfidfSVMClassifier.load(config, storage, Resource(name), context))

