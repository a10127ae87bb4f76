"""Rasa's file importer, reading the NLU files once per training (config.yml `importers`).

`rasa train` asks for the NLU data twice, once as `get_nlu_data()` and once as
`get_nlu_data(language="en")`; Rasa's importers cache each call by its arguments, so both
parse and schema-check every YAML file (the second read was 7.6 of 185 profiled seconds of a
training from scratch; issue 12 keeps training under 60 s). Here the files are read once per
language. The importers above this one merge what it returns into new TrainingData (copies of
the examples), so the object kept here is never changed by training.
"""
from __future__ import annotations

from typing import Dict, Optional, Text

from rasa.shared.importers.rasa import RasaFileImporter as RasaYamlFileImporter
from rasa.shared.nlu.training_data.training_data import TrainingData


class RasaFileImporter(RasaYamlFileImporter):
    def get_nlu_data(self, language: Optional[Text] = "en") -> TrainingData:
        cache: Dict[Optional[Text], TrainingData] = self.__dict__.setdefault("_nlu_by_language", {})
        if language not in cache:
            cache[language] = super().get_nlu_data(language)
        return cache[language]
