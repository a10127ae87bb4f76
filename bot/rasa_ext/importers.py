"""Rasa's file importer, reading the NLU files once per training (config.yml `importers`).

`rasa train` asks for the NLU data twice, once as `get_nlu_data()` and once as
`get_nlu_data(language="en")`; Rasa's importers cache each call by its arguments, so both
parse and schema-check every YAML file (the second read was 7.6 of 185 profiled seconds of a
training from scratch; issue 12 keeps training under 60 s). Here the files are read once per
language.

The importers above this one (Rasa's combined, responses and end-to-end importers) merge what it
returns into new TrainingData, five times for each of the two calls, and each merge deep-copies
every one of the ~20,000 examples, then strips each intent with `Message.set`, which throws away the
example's fingerprint, so that the duplicate check hashes every example again (profiled
2026-12-07: 15 of 36 seconds of reading the data were deep copies, 10 were those fingerprints).
The examples given here are `ImportedExample`s: the same data, copied for what it holds (text
and labels are strings, shared safely; lists and dicts are copied), and a `set` to the value
already there keeps the fingerprint (measured: each call 5 -> 1 s, `make bench-training` below).
The object kept here is never changed by training.
"""
from __future__ import annotations

import copy
from typing import Any, Dict, Optional, Text

from rasa.shared.importers.rasa import RasaFileImporter as RasaYamlFileImporter
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

# What a training example's data holds that is never changed in place: copied by reference.
_IMMUTABLE = (str, int, float, bool, type(None))


class ImportedExample(Message):
    """A training example read from data/nlu, cheap to copy and to re-check for duplicates."""

    @classmethod
    def of(cls, message: Message) -> "ImportedExample":
        example = cls.__new__(cls)
        example.__dict__.update(message.__dict__)
        return example

    def __deepcopy__(self, memo: Dict[int, Any]) -> "ImportedExample":
        twin = type(self).__new__(type(self))
        memo[id(self)] = twin
        for name, value in self.__dict__.items():
            if name == "data":
                value = {key: item if isinstance(item, _IMMUTABLE) else copy.deepcopy(item, memo)
                         for key, item in value.items()}
            elif name == "output_properties":
                value = set(value)  # attribute names
            elif not isinstance(value, _IMMUTABLE):
                value = copy.deepcopy(value, memo)
            twin.__dict__[name] = value
        return twin

    def set(self, prop: Text, info: Any, add_to_output: bool = False) -> None:
        # The fingerprint stays valid when nothing changes (TrainingData strips every intent).
        unchanged = isinstance(info, _IMMUTABLE) and prop in self.data and self.data[prop] == info \
            and type(self.data[prop]) is type(info) and (not add_to_output or prop in self.output_properties)
        if not unchanged:
            super().set(prop, info, add_to_output)


class RasaFileImporter(RasaYamlFileImporter):
    def get_nlu_data(self, language: Optional[Text] = "en") -> TrainingData:
        cache: Dict[Optional[Text], TrainingData] = self.__dict__.setdefault("_nlu_by_language", {})
        if language not in cache:
            data = super().get_nlu_data(language)
            cache[language] = TrainingData([ImportedExample.of(m) for m in data.training_examples],
                                           data.entity_synonyms, data.regex_features, data.lookup_tables,
                                           data.responses)
        return cache[language]
