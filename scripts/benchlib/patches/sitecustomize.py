"""Loaded by Python at start-up of every process of a bench lever run (PYTHONPATH); the
product's code is not changed. BENCH_PATCH is a comma-separated list of:

schema-once: Rasa 3.6 validates every action server response with
  `jsonschema.validate(result, RemoteAction.action_response_format_spec())`. That call picks
  the validator class, *checks the schema itself against the draft 2020-12 metaschema* and
  builds a new RefResolver - every time, for a schema that never changes (~18 ms of CPU per
  action call here; a form turn makes 2-3 calls). This builds the validator once and
  validates each response with it: same checks, same errors.

no-validation: skips that validation (trusts our own action server), to show what the
  validation still costs once the schema is compiled.

event-type-cache: `Event.resolve_by_type` walks every Event subclass recursively
  (`all_subclasses`) for *each event* deserialised - and the tracker store deserialises the
  whole conversation on every turn. This looks the class up in a dict built from the same
  walk (rebuilt when a name is missing): same result, constant time.
"""
import importlib.abc
import importlib.util
import os
import sys

_MODES = {m.strip() for m in os.environ.get("BENCH_PATCH", "").split(",") if m.strip()}


def _patch_actions(module) -> None:
    from jsonschema import ValidationError, validators

    remote = module.RemoteAction
    if "no-validation" in _MODES:
        remote._validate_action_result = lambda self, result: True
        return
    spec = remote.action_response_format_spec()
    cls = validators.validator_for(spec)
    cls.check_schema(spec)
    validator = cls(spec)
    docs = getattr(module, "DOCS_BASE_URL", "https://rasa.com/docs/rasa")

    def _validate_action_result(self, result):
        try:
            validator.validate(result)
            return True
        except ValidationError as e:
            e.message += (
                ". Failed to validate Action server response from API, make sure your response from "
                f"the Action endpoint is valid. For more information about the format visit {docs}/custom-actions"
            )
            raise e

    remote._validate_action_result = _validate_action_result


def _patch_events(module) -> None:
    import rasa.shared.utils.common as common

    event = module.Event
    original = event.resolve_by_type
    by_name = {}

    def resolve_by_type(type_name, default=None):
        cls = by_name.get(type_name)
        if cls is None:
            for candidate in common.all_subclasses(event):  # first match wins, as before
                by_name.setdefault(candidate.type_name, candidate)
            cls = by_name.get(type_name)
        return cls if cls is not None else original(type_name, default)

    event.resolve_by_type = staticmethod(resolve_by_type)


_TARGETS = {}
if _MODES & {"schema-once", "no-validation"}:
    _TARGETS["rasa.core.actions.action"] = _patch_actions
if "event-type-cache" in _MODES:
    _TARGETS["rasa.shared.core.events"] = _patch_events


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Runs the patch right after the target module is first imported."""

    def find_spec(self, name, path, target=None):
        if name not in _TARGETS:
            return None
        patch = _TARGETS.pop(name)
        if not _TARGETS:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            patch(module)
            sys.stderr.write(f"bench patch {sorted(_MODES)}: {name} patched\n")

        spec.loader.exec_module = exec_and_patch
        return spec


if _TARGETS:
    sys.meta_path.insert(0, _PatchOnImport())
