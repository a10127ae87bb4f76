"""config.yml's NLU pipeline read in one place: a component's settings as the product runs it
(its defaults, under what config.yml sets), for the tuning scripts and the tests that must
measure the product's component, not a twin configured by hand."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Text

import yaml

from bot.settings import ROOT

CONFIG_FILE = ROOT / "config.yml"


def pipeline(config_file: Path = CONFIG_FILE) -> List[Dict[Text, Any]]:
    """The pipeline's entries, in order, as config.yml writes them."""
    return yaml.safe_load(Path(config_file).read_text()).get("pipeline") or []


def _class_name(entry: Dict[Text, Any]) -> str:
    """An entry's component class name, without its module ("bot.rasa_ext.nlu.x.Guard" -> "Guard")."""
    return str(entry.get("name", "")).rsplit(".", 1)[-1]


def names(config_file: Path = CONFIG_FILE) -> List[str]:
    """Each component's class name (without its module), in the pipeline's order."""
    return [_class_name(entry) for entry in pipeline(config_file)]


def all_settings(component: type, config_file: Path = CONFIG_FILE) -> List[Dict[Text, Any]]:
    """The settings of each entry of `component` (a featurizer may be there twice)."""
    return [{**component.get_default_config(), **{k: v for k, v in entry.items() if k != "name"}}
            for entry in pipeline(config_file)
            if _class_name(entry) == component.__name__]


def settings(component: type, config_file: Path = CONFIG_FILE) -> Dict[Text, Any]:
    """The settings of `component`'s one entry; its defaults when the pipeline has none."""
    found = all_settings(component, config_file)
    if len(found) > 1:
        raise ValueError(f"{component.__name__} is in {config_file} {len(found)} times; use all_settings")
    return found[0] if found else dict(component.get_default_config())
