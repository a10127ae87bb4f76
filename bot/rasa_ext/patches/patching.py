"""How every patch in this package replaces a Rasa attribute: once, and only on the Rasa
release it was measured on.

The patches replace Rasa's private methods (each module lists the ones it replaces), whose
names, signatures and meaning change between releases without notice. Each was measured
(`make bench`, README) and proven to give Rasa's own answers (tests/unit/test_rasa_speedups.py,
test_graph_runner.py, tests/unit/test_session_expiry.py) on one release, `MEASURED_ON`.
`replace` refuses any other release, so no patch can land on code it was not checked
against, whichever `install()` is called, and refuses to replace an attribute twice.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import rasa

MEASURED_ON = "3.6.21"

# (owner, attribute name) -> Rasa's own value, kept when it is replaced. Also what tells a
# second install() that the attribute is already ours (even if a test has since set it by hand).
ORIGINALS: Dict[Tuple[Any, str], Any] = {}


class UnmeasuredRasa(RuntimeError):
    """The installed Rasa is not the release the patches were measured on."""


def check_rasa_version() -> None:
    if rasa.__version__ != MEASURED_ON:
        raise UnmeasuredRasa(
            f"rasa {rasa.__version__} is installed, but bot/rasa_ext/patches were measured and tested on "
            f"rasa {MEASURED_ON} only: no patch applied. Without the turn hook card numbers would reach the "
            "tracker store and the NLU unmasked, so the Rasa server must not start our channels and tracker "
            "stores. Re-run the tests of bot/rasa_ext on the new release and update MEASURED_ON "
            "(bot/rasa_ext/patches/patching.py), or install the measured release (pyproject.toml)."
        )


def rasas(owner: Any, name: str) -> Any:
    """Rasa's own `owner.<name>`, whether or not a patch has replaced it."""
    return ORIGINALS.get((owner, name), getattr(owner, name))


def replace(owner: Any, name: str, make: Callable[[Any], Any]) -> bool:
    """Set `owner.<name>` to `make(Rasa's value)`, unless already done. True if done now.

    Raises UnmeasuredRasa (and replaces nothing) on any Rasa but MEASURED_ON."""
    check_rasa_version()
    if (owner, name) in ORIGINALS:
        return False
    # The raw attribute: a staticmethod stays one when the patch wraps it.
    original = getattr(owner, name)
    replacement = make(original)
    ORIGINALS[(owner, name)] = original
    setattr(owner, name, replacement)
    return True
