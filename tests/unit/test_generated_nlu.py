"""scripts/generate_noisy_nlu.py: the generated variations of the written examples are
reproducible, in sync with data/nlu, add to the written examples without teaching a second
intent, and look like the ways customers really type (issue 12)."""
from __future__ import annotations

import random
import re

from scripts import generate_noisy_nlu as gen
from scripts.check_nlu_duplicates import examples, normalise


def test_generated_file_is_what_the_script_writes_from_todays_data(tmp_path, monkeypatch):
    """Regenerating from the current written examples gives the committed file byte for
    byte: it was not hand-edited and is not stale (re-run the script after editing data/nlu)."""
    committed = gen.OUT.read_text()
    out = tmp_path / "generated_noisy.yml"
    monkeypatch.setattr(gen, "OUT", out)
    gen.main()
    assert out.read_text() == committed


def test_variations_are_new_sentences_never_read_like_a_written_one():
    written = gen.written_examples()
    owners = {}
    for text, intent in written:
        owners.setdefault(normalise(text), set()).add(intent)
    for text, intent in gen.variations(written):
        assert normalise(text) not in owners, (text, intent)


def test_written_examples_are_all_kept_and_generated_ones_only_added():
    generated = {(t, i) for i, t, name in examples() if name == gen.OUT.name}
    written = set(gen.written_examples())
    assert generated and not (generated & written)
    assert {(t, i) for i, t, name in examples() if not name.startswith("generated_") and name not in gen.SKIP_FILES} == written


def test_the_kinds_of_noise_customers_make():
    rng = random.Random(1)
    assert gen.shouting("my parcel is late", rng).startswith("MY PARCEL IS LATE")
    assert gen.plain("Hi, I'd like a refund!", rng) == "hi id like a refund"
    assert gen.text_speak("Please can you check your records, thanks", rng) == "pls can u check ur records, thx"
    with_filler = gen.fillers("my parcel is late", rng)
    assert set(with_filler.split()) - {"my", "parcel", "is", "late"} <= set(" ".join(gen.FILLERS).split())
    typo = gen.typo("delivery", rng)
    assert typo != "delivery" and abs(len(typo) - len("delivery")) <= 1 and typo[0] == "d"
    # deterministic: the same seed gives the same variations
    assert gen.variations([("my parcel is late", "complain_delivery")] * 3, seed=5) == \
        gen.variations([("my parcel is late", "complain_delivery")] * 3, seed=5)
    assert re.fullmatch(r"[\w' ]+", gen.plain("WHERE'S my order??", rng))
