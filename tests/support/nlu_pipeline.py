"""The product's NLU pipeline (whitespace tokens, the batched count featurizers and
TfidfSVMClassifier, with the settings config.yml gives them) trained in process on a few
examples, for tests of the classifier."""
from __future__ import annotations

from typing import Dict, List, Sequence

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa_ext.nlu import pipeline
from bot.rasa_ext.nlu.featurizers import BatchCountVectorsFeaturizer
from bot.rasa_ext.nlu.svm_classifier import TfidfSVMClassifier
from bot.rasa_ext.nlu.tokenizers import WhitespaceTokenizer


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
    tokenizer = WhitespaceTokenizer(pipeline.settings(WhitespaceTokenizer))
    tokenizer.process_training_data(data)
    featurizers = []
    for n, config in enumerate(pipeline.all_settings(BatchCountVectorsFeaturizer)):
        featurizer = BatchCountVectorsFeaturizer.create(config, storage, Resource(f"cv{n}"), context)
        featurizer.train(data)
        featurizer.process_training_data(data)
        featurizers.append(featurizer)
    config = pipeline.settings(TfidfSVMClassifier)
    TfidfSVMClassifier.create(config, storage, Resource(name), context).train(data)
    return TrainedPipeline(tokenizer, featurizers, TfidfSVMClassifier.load(config, storage, Resource(name), context))

