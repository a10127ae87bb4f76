"""Action-server replies checked by compiled checks instead of jsonschema on every call.

Rasa checks each reply with `jsonschema.validate(result, spec)`, which re-checks the schema
against its metaschema, builds a new resolver, and walks every event through a `oneOf` over
all 23 event types (with an error object for each of the 22 that don't match): 17.8 ms of
CPU per action call here at first, still ~1.5 ms with the validator built once. Now the spec
is compiled once into plain Python checks that give jsonschema's own answer for the few
keywords it uses, and each event's `oneOf` goes straight to the branch its `event` names
(`_compile_schema` says why that is exact): ~17 us for a 6-event reply. Only a reply these
checks accept is accepted without jsonschema; anything else (an invalid reply, or anything
that surprises the checks) goes to jsonschema, which decides and raises exactly Rasa's error:
the `best_match` of the errors, as `jsonschema.validate` picks it, with Rasa's hint appended.

Replaces (Rasa 3.6.21, private): `RemoteAction._validate_action_result`.
Proven equal to Rasa's: tests/unit/test_rasa_speedups.py.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Callable, Dict, Optional, Text, Tuple

from jsonschema import validators
from jsonschema.exceptions import UndefinedTypeCheck, best_match
from rasa.core.actions import action as action_module

from bot.rasa_ext.patches.patching import replace

logger = logging.getLogger(__name__)


Check = Callable[[Any], bool]


class _Unsupported(Exception):
    """The schema uses something the compiled checks don't do; jsonschema alone is used."""


def _always(_: Any) -> bool:
    return True


def _never(_: Any) -> bool:
    return False


_KEYWORDS = frozenset({"type", "const", "required", "properties", "patternProperties", "items", "oneOf"})


TypeTest = Callable[[str], Check]


def _type_tests(type_checker: Any) -> TypeTest:
    """For a type name, the test `type_checker.is_type(instance, name)` makes, looked up once.

    TypeChecker.is_type(instance, name) is `self._type_checkers[name](self, instance)`
    (jsonschema 4.17); the lookup in its persistent map was most of the checks' time.
    """

    def test_for(name: str) -> Check:
        try:
            type_checker.is_type(None, name)
        except UndefinedTypeCheck:
            raise _Unsupported(name) from None
        table = getattr(type_checker, "_type_checkers", None)
        try:
            fn = table[name]  # type: ignore[index]
        except Exception:  # noqa: BLE001 - another jsonschema: its public is_type
            return lambda instance: type_checker.is_type(instance, name)
        return lambda instance: fn(type_checker, instance)

    return test_for


def _compile_schema(schema: Any, type_test: TypeTest) -> Check:
    """A function giving jsonschema's (Draft 2020-12, jsonschema 4.17) verdict on a JSON document.

    Only the keywords Rasa's action-reply spec uses are done, each as jsonschema does it
    (jsonschema/_validators.py): `type` (any of the types, by the validator's own type
    checker), `const` (strings only: jsonschema's `equal` is `==` when one side is a
    string), `required`, `properties` and `patternProperties` (objects only; `re.search`),
    `items` (every item; there is no `prefixItems`), `oneOf` (exactly one branch). Any other
    keyword raises _Unsupported.

    `oneOf` whose branches all pin one property to a different string `const` (Rasa's
    events: `"event": {"const": "slot"}`, ...) is decided by that branch alone when the
    instance is an object holding a plain string there: every other branch applies its
    `properties` to that key and fails its `const`, so exactly one branch can be valid, and
    the `oneOf` is valid iff that one is. Otherwise every branch is counted, as jsonschema
    does.
    """
    if schema is True:
        return _always
    if schema is False:
        return _never
    if not isinstance(schema, dict) or not set(schema) <= _KEYWORDS:
        raise _Unsupported(schema)
    if not schema:
        return _always

    has_const = "const" in schema
    const = schema.get("const")
    if has_const and not isinstance(const, str):
        raise _Unsupported(schema)
    types: Optional[Tuple[Check, ...]] = None
    if "type" in schema:
        names = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        types = tuple(type_test(name) for name in names)
    is_object, is_array = type_test("object"), type_test("array")
    required = tuple(schema.get("required", ()))
    props = tuple(
        (name, _compile_schema(sub, type_test))
        for name, sub in schema.get("properties", {}).items()
        if sub is not True and sub != {}
    )
    patterns = tuple(
        (re.compile(pattern).search, _compile_schema(sub, type_test))
        for pattern, sub in schema.get("patternProperties", {}).items()
    )
    on_objects = bool(required or props or patterns)
    items = _compile_schema(schema["items"], type_test) if "items" in schema else None
    one_of = _compile_one_of(schema["oneOf"], type_test) if "oneOf" in schema else None

    def check(instance: Any) -> bool:
        if has_const and not instance == const:
            return False
        if types is not None:
            for is_type in types:
                if is_type(instance):
                    break
            else:
                return False
        if on_objects and is_object(instance):
            for name in required:
                if name not in instance:
                    return False
            for name, sub in props:
                if name in instance and not sub(instance[name]):
                    return False
            for search, sub in patterns:
                for key, value in instance.items():
                    if search(key) and not sub(value):
                        return False
        if items is not None and is_array(instance):
            for item in instance:
                if not items(item):
                    return False
        if one_of is not None and not one_of(instance):
            return False
        return True

    return check


def _compile_one_of(branches: Any, type_test: TypeTest) -> Check:
    if not isinstance(branches, list) or not branches:
        raise _Unsupported(branches)
    compiled = [_compile_schema(branch, type_test) for branch in branches]
    is_object = type_test("object")

    def count(instance: Any) -> bool:
        valid = 0
        for branch in compiled:
            if branch(instance):
                valid += 1
                if valid > 1:
                    return False
        return valid == 1

    found = _discriminator(branches)
    if found is None:
        return count
    key, consts = found
    by_const = dict(zip(consts, compiled))

    def by_discriminator(instance: Any) -> bool:
        if is_object(instance) and key in instance:
            value = instance[key]
            if type(value) is str:
                branch = by_const.get(value)
                return branch is not None and branch(instance)
        return count(instance)

    return by_discriminator


def _discriminator(branches: Any) -> Optional[Tuple[str, list]]:
    """A property every branch pins to its own string `const`, with those constants."""

    def pinned(branch: Any, key: str) -> Any:
        props = branch.get("properties") if isinstance(branch, dict) else None
        sub = props.get(key) if isinstance(props, dict) else None
        return sub.get("const") if isinstance(sub, dict) else None

    first = branches[0].get("properties") if isinstance(branches[0], dict) else None
    for key in first if isinstance(first, dict) else ():
        consts = []
        for branch in branches:
            const = pinned(branch, key)
            if not isinstance(const, str):
                break
            consts.append(const)
        else:
            if len(set(consts)) == len(consts):
                return key, consts
    return None


def _compiled_action_validation(original: Callable[..., bool]) -> Any:
    spec_of = action_module.RemoteAction.action_response_format_spec
    spec = spec_of()
    checker_class = validators.validator_for(spec)
    checker_class.check_schema(spec)
    checker = checker_class(spec)
    try:
        accepts: Optional[Check] = _compile_schema(spec, _type_tests(checker_class.TYPE_CHECKER))
    except Exception as unsupported:  # noqa: BLE001 - another Rasa's spec: jsonschema alone, as Rasa
        logger.warning("action reply spec not compiled (%r); jsonschema checks every reply", unsupported)
        accepts = None
    docs = getattr(action_module, "DOCS_BASE_URL", "https://rasa.com/docs/rasa")
    hint = (
        ". Failed to validate Action server response from API, make sure your response "
        "from the Action endpoint is valid. For more information about the format visit "
        f"{docs}/custom-actions"
    )

    def _validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
        if type(self).action_response_format_spec is not spec_of:
            return original(self, result)  # a subclass with its own spec
        if accepts is not None:
            try:  # replies are parsed JSON (string keys), what the checks are exact for
                if accepts(result):
                    return True
            except Exception:  # noqa: BLE001 - jsonschema decides, and raises what Rasa raises
                pass
        # What jsonschema.validate does once the schema is checked: the best error.
        error = best_match(checker.iter_errors(result))
        if error is None:
            return True
        error.message += hint
        raise error

    return _validate_action_result


def install() -> None:
    replace(action_module.RemoteAction, "_validate_action_result", _compiled_action_validation)
