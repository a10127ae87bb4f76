"""Cross-validation of the whole understanding step (issue 12): the product's classifier
(bot/rasa_ext/nlu/svm_classifier.py) + the category decision (actions/understanding.py), on the
hand-written training examples, with the generated examples built INSIDE each training fold
only (a generated copy of a test sentence never trains the model that is tested on it).

    PYTHONPATH=. .venv/bin/python scripts/tune_understanding.py [--noise N] [--c-cat C] ...

Prints, for clean test folds and for "messy" copies of them (scripts/generate_noisy_nlu.py
with another seed, the way the held-out customers write): category right at first guess,
after <= 1 clarification, asked, the kinds of misses; requests for a person honoured; deny
recall; complaints that mention staff/agents kept off request_human; vague openings
(data/nlu/vague_openings.yml) filed under a category although they name none. Levers:
--word/--char n-gram ranges, --c-int/--c-cat, --weight/--cat-weight (balanced | none |
per-intent), --keywords (catalog sub-reason keywords as features), --merged (one complaint
class for the intent classifier), --spelling (symspellpy, not a project dependency: put it on
PYTHONPATH), --no-unclear (vague openings train complain_other's category). --thresholds then
picks the `understanding:` thresholds from the out-of-fold parses. Held-out sets are never read.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import augment_nlu, generate_noisy_nlu  # noqa: E402
from bot.rasa_ext.nlu import pipeline  # noqa: E402
from bot.rasa_ext.nlu.svm_classifier import (UNCLEAR, CalibratedSVM, TfidfSVMClassifier, TfidfWeights,  # noqa: E402
                                             category_labels, category_parse)
from scripts.check_nlu_duplicates import vague_examples  # noqa: E402
from scripts.compare_classifiers import keyword_matrix, rasa_tokens, spell_normalise  # noqa: E402

PREFIX = "complain_"
MENTIONS_PEOPLE = re.compile(r"\b(staff|agent|advisor|adviser|person|someone|somebody|manager|human|driver|colleague|engineer|representative)s?\b", re.I)


def facts_variations(examples: Sequence[Tuple[str, str]], seed: int) -> List[Tuple[str, str]]:
    """scripts/augment_nlu.py's complaints-with-facts, from these examples only."""
    by_intent: Dict[str, List[str]] = {}
    for text, intent in examples:
        if intent.startswith(PREFIX) and not is_vague_label(intent):
            by_intent.setdefault(intent, []).append(text)
    return augment_nlu.with_facts(by_intent, random.Random(seed))


def combine_category_evidence(categories: np.ndarray, intents: np.ndarray, how: str) -> np.ndarray:
    """The category classifier's probabilities joined with the intent classifier's complaint
    intents (renormalised over the categories, columns in the same order): `mean` averages
    the two, `product` multiplies them, `geometric` takes the square root of the product (the
    same ranking as `product`, confidences as spread as either one's); rows sum to 1."""
    share = intents / np.clip(intents.sum(axis=1, keepdims=True), 1e-12, None)
    if how == "mean":
        joined = (categories + share) / 2
    elif how == "geometric":
        joined = np.sqrt(categories * share)
    else:
        joined = categories * share
    return joined / np.clip(joined.sum(axis=1, keepdims=True), 1e-12, None)


class Product:
    """The product's features and classifiers (sklearn vectorizers on Rasa's tokens, the
    product's TfidfWeights and CalibratedSVM), and parse data as Rasa would return it.
    Levers: n-gram ranges, the catalog's sub-reason keywords as one more feature block (a
    lookup table per sub-reason through RegexFeaturizer), and `merged`: the intent classifier
    sees every complaint as one class, so nine categories don't split a complaint's
    probability against one conversation intent (the category comes from its own SVM)."""

    def __init__(self, C_int: float, C_cat: float, weight, cat_weight, folds: int = 3, combine: str = "none",
                 word=(1, 2), char=(2, 5), keywords: bool = False, merged: bool = False, unclear: bool = True):
        self.C_int, self.C_cat, self.weight, self.cat_weight, self.folds = C_int, C_cat, weight, cat_weight, folds
        self.combine, self.word, self.char, self.keywords, self.merged = combine, word, char, keywords, merged
        self.unclear = unclear  # False: vague openings train their intent's category, as any example

    def _blocks(self, tokens: List[str], fit: bool) -> List:
        if fit:
            self.vecs = [CountVectorizer(analyzer="word", ngram_range=self.word, token_pattern=r"(?u)\b\w+\b"),
                         CountVectorizer(analyzer="char_wb", ngram_range=self.char)]
        blocks = [keyword_matrix(tokens)] if self.keywords else []
        return blocks + [v.fit_transform(tokens) if fit else v.transform(tokens) for v in self.vecs]

    def fit(self, tokens: List[str], labels: np.ndarray) -> "Product":
        blocks = self._blocks(tokens, fit=True)
        counts = hstack(blocks, format="csr")
        self.weights = TfidfWeights.fit(counts, np.cumsum([b.shape[1] for b in blocks]))
        X = self.weights.transform(counts)
        vague = np.array([self.unclear and is_vague_label(label) for label in labels], dtype=bool)
        labels = np.array([label.rstrip(UNCLEAR) for label in labels])  # a vague example's intent
        mask = np.char.startswith(labels.astype(str), PREFIX)
        intent_labels = np.where(mask, PREFIX, labels) if self.merged else labels
        if self.weight == "per-intent":  # balanced over the intents before merging
            self.intents = CalibratedSVM.fit(X, intent_labels, self.C_int, None, self.folds, balanced_weights(labels))
        else:
            self.intents = CalibratedSVM.fit(X, intent_labels, self.C_int, self.weight, self.folds)
        self.categories = CalibratedSVM.fit(X[mask], category_labels(labels[mask], vague[mask]), self.C_cat,
                                            self.cat_weight, self.folds)
        return self

    def parse(self, tokens: List[str], raw: List[str]) -> List[dict]:
        Xt = self.weights.transform(hstack(self._blocks(tokens, fit=False), format="csr"))
        out = []
        PI, PC = self.intents.predict_proba(Xt), self.categories.predict_proba(Xt)
        if self.merged:  # the complaint class's probability, spread over the categories
            share = PI[:, list(self.intents.classes_).index(PREFIX)][:, None]
            keep = [i for i, c in enumerate(self.intents.classes_) if c != PREFIX]
            PI = np.hstack([PI[:, keep], share * PC])
            # the "no category named" share belongs to the vague openings' intent
            names = [self.intents.classes_[i] for i in keep] + [c if c != UNCLEAR else f"{PREFIX}other" for c in self.categories.classes_]
        else:
            names = list(self.intents.classes_)
        if self.combine != "none":
            columns = [names.index(c) for c in self.categories.classes_]
            PC = combine_category_evidence(PC, PI[:, columns], self.combine)
        for text, pi, pc in zip(raw, PI, PC):
            by_name = Counter()
            for c, p in zip(names, pi):
                by_name[str(c)] += float(p)
            ranking = sorted(({"name": c, "confidence": p} for c, p in by_name.items()), key=lambda e: -e["confidence"])
            # FallbackClassifier (config.yml): threshold 0.3, ambiguity_threshold 0.02.
            low = ranking[0]["confidence"] < 0.3 or ranking[0]["confidence"] - ranking[1]["confidence"] < 0.02
            intent = {"name": "nlu_fallback", "confidence": 1.0} if low else ranking[0]
            out.append({"text": text, "intent": intent, "intent_ranking": ranking[:10],
                        "complaint_category": category_parse(self.categories.classes_, pc, PREFIX)})
        return out


def balanced_weights(labels: np.ndarray) -> np.ndarray:
    """sklearn's class_weight="balanced" as one weight per example: n / (classes * count)."""
    names, index, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return len(labels) / (len(names) * counts[index])


def weight_of(option: str):
    return None if option in ("", "none") else option


def is_vague_label(label: str) -> bool:
    return label.endswith(UNCLEAR)


def written() -> Tuple[List[str], np.ndarray]:
    """The written examples and their labels; a vague opening's label is its intent + UNCLEAR
    (it trains that intent, and the category classifier's "no category named" class)."""
    pairs = generate_noisy_nlu.written_examples()
    vague = vague_examples()
    return [t for t, _ in pairs], np.array([i + UNCLEAR if (t, i) in vague else i for t, i in pairs])


def out_of_fold(texts: List[str], labels: np.ndarray, args) -> Dict[str, Tuple[List[dict], np.ndarray]]:
    """Out-of-fold parses of the clean test folds and of messy copies of them."""
    clean: List[dict] = [None] * len(texts)
    messy_parses, messy_labels = [], []
    calibration_folds = pipeline.settings(TfidfSVMClassifier)["calibration_folds"]
    started = time.perf_counter()
    for k, (train, test) in enumerate(StratifiedKFold(args.folds, shuffle=True, random_state=1).split(texts, labels)):
        base = [(texts[i], labels[i]) for i in train]
        extra = generate_noisy_nlu.variations(base, seed=7 + k, per_example=args.noise) if args.noise else []
        extra += facts_variations(base, seed=11 + k) if args.facts else []
        train_pairs = base + extra
        train_raw = [t for t, _ in train_pairs]
        tokens = spell_normalise if args.spelling else (lambda x: x)  # symspellpy's own dictionary
        model = Product(args.c_int, args.c_cat, weight_of(args.weight), weight_of(args.cat_weight),
                        folds=calibration_folds, combine=args.combine,
                        word=tuple(args.word), char=tuple(args.char), keywords=args.keywords, merged=args.merged,
                        unclear=not args.no_unclear).fit(
            tokens(rasa_tokens(train_raw)), np.array([label for _, label in train_pairs]))
        test_raw = [texts[i] for i in test]
        for i, parse in zip(test, model.parse(tokens(rasa_tokens(test_raw)), test_raw)):
            clean[i] = parse
        # Messy copies: every test sentence once, in a voice the generator may or may not
        # have trained (another seed), so the two figures can be told apart.
        rng = random.Random(1000 + k)
        messy = [generate_noisy_nlu.variation(t, rng) for t in test_raw]
        messy_parses += model.parse(tokens(rasa_tokens(messy)), messy)
        messy_labels += [labels[i] for i in test]
    print(f"  (cross-validation {time.perf_counter() - started:.0f} s, {len(extra)} generated examples per fold)")
    return {"clean": (clean, labels), "messy": (messy_parses, np.array(messy_labels))}


def figures(parses: List[dict], labels: np.ndarray, catalog) -> Dict[str, float]:
    from actions.understanding import NO_DECISION, decide_category, opens_complaint

    c = Counter()
    for parse, gold in zip(parses, labels):
        predicted = parse["intent"]["name"]
        if is_vague_label(gold):  # names no category: it must not be filed under one
            c["vague"] += 1
            c["vague_filed"] += decide_category(parse, parse["text"], catalog).category is not None
        elif gold.startswith(PREFIX):
            g = gold[len(PREFIX):]
            d = decide_category(parse, parse["text"], catalog) if opens_complaint(parse, parse["text"]) else NO_DECISION
            c["complaints"] += 1
            c["first"] += d.category == g
            if d.category is None and d.options:
                c["asked"] += 1
                c["after_one"] += g in d.options
                c["miss_not_offered"] += g not in d.options
            elif d.category is None:
                c["miss_no_decision"] += 1
                c[f"lost_to_{predicted}"] += 1
            else:
                c["after_one"] += d.category == g
                c["miss_confident_wrong"] += d.category != g
            if MENTIONS_PEOPLE.search(parse["text"]):
                c["people_complaints"] += 1
                c["people_kept"] += predicted != "request_human"
        elif gold == "request_human":
            c["human"] += 1
            c["human_ok"] += predicted == "request_human"
        elif gold == "deny":
            c["deny"] += 1
            c["deny_ok"] += predicted == "deny"
        else:
            c["other"] += 1
            c["other_to_human"] += predicted == "request_human"
    n = c["complaints"]
    out = {"first": c["first"] / n, "after_one": c["after_one"] / n, "asked": c["asked"] / n,
           "conf_wrong": c["miss_confident_wrong"] / n, "not_offered": c["miss_not_offered"] / n,
           "no_decision": c["miss_no_decision"] / n,
           "human": c["human_ok"] / max(1, c["human"]), "deny": c["deny_ok"] / max(1, c["deny"]),
           "people_kept": c["people_kept"] / max(1, c["people_complaints"]),
           "other_to_human": c["other_to_human"] / max(1, c["other"]), "vague_filed": c["vague_filed"] / max(1, c["vague"])}
    out["lost_to"] = {k[8:]: v for k, v in c.items() if k.startswith("lost_to_")}
    return out


def show(name: str, f: Dict[str, float]) -> None:
    print(f"  {name:6s} first {f['first']:.1%}  after-one {f['after_one']:.1%}  asked {f['asked']:.1%}  "
          f"[misses: confident-wrong {f['conf_wrong']:.1%}, not offered {f['not_offered']:.1%}, "
          f"no decision {f['no_decision']:.1%} {f['lost_to']}]  person {f['human']:.1%}  deny {f['deny']:.1%}  "
          f"staff-complaints kept {f['people_kept']:.1%}  others->person {f['other_to_human']:.1%}  "
          f"vague filed {f['vague_filed']:.1%}")


def decision_table(parses: List[dict], labels: np.ndarray, catalog) -> Dict[str, np.ndarray]:
    """What the threshold grid needs per complaint, computed once: whether the message is
    classified at all (actions.understanding.is_complaint), the best and second confidence,
    whether the best is right and whether the truth is among the offered options."""
    from actions.understanding import category_ranking, is_complaint, opens_complaint, understanding_settings

    k = understanding_settings(catalog)["max_options"]
    rows = []
    for parse, gold in zip(parses, labels):
        if not gold.startswith(PREFIX) or is_vague_label(gold):
            continue
        intent = parse["intent"]["name"]
        ranking = [r for r in category_ranking(parse) if r["name"] in catalog.categories]
        classified = intent != "request_human" and opens_complaint(parse, parse["text"]) \
            and is_complaint(parse, intent, parse["text"]) and bool(ranking)
        g = gold[len(PREFIX):]
        rows.append((classified, ranking[0]["confidence"], ranking[1]["confidence"], ranking[0]["name"] == g,
                     g in [r["name"] for r in ranking[:k]], ranking[0]["name"]))
    cols = list(zip(*rows))
    return {"classified": np.array(cols[0]), "top": np.array(cols[1]), "second": np.array(cols[2]),
            "right": np.array(cols[3]), "offered": np.array(cols[4]), "best": np.array(cols[5])}


def grid_figures(t: Dict[str, np.ndarray], floor, margin) -> Dict[str, float]:
    """floor/margin: scalars, or per-category arrays indexed by each row's best category."""
    if isinstance(floor, dict):  # per category: the floor of the best category
        floor = np.array([floor[b] for b in t["best"]])
    sure = t["classified"] & (t["top"] >= floor) & (t["top"] - t["second"] >= margin)
    ask = t["classified"] & ~sure
    return {"first": float((sure & t["right"]).mean()),
            "after_one": float(((sure & t["right"]) | (ask & t["offered"])).mean()),
            "asked": float(ask.mean())}


def choose(parses_by_set, catalog, target: float) -> None:
    """Grid over (confidence floor, margin): the pair with the most first guesses on the
    clean and messy folds together among those with after-one >= target on both; when
    none reaches it, the Pareto frontier (first guess against after-one) is printed."""
    clean = decision_table(*parses_by_set["clean"], catalog)
    messy = decision_table(*parses_by_set["messy"], catalog)
    rows = []
    for floor in np.round(np.arange(0.0, 0.991, 0.01), 2):
        for margin in np.round(np.arange(0.0, 0.91, 0.05), 2):
            rows.append((floor, margin, grid_figures(clean, floor, margin), grid_figures(messy, floor, margin)))
    good = [r for r in rows if r[2]["after_one"] >= target and r[3]["after_one"] >= target]
    def line(r):
        return (f"floor {r[0]:.2f} margin {r[1]:.2f}: clean first {r[2]['first']:.1%}/after {r[2]['after_one']:.1%}/"
                f"asked {r[2]['asked']:.1%}, messy first {r[3]['first']:.1%}/after {r[3]['after_one']:.1%}/asked {r[3]['asked']:.1%}")
    if good:
        print(f"  best with after-one >= {target:.1%} on both: " + line(max(good, key=lambda r: r[2]["first"] + r[3]["first"])))
        return
    print(f"  no pair reaches after-one >= {target:.1%} on both; frontier (mean of clean and messy):")
    frontier, best_first = [], -1.0
    for r in sorted(rows, key=lambda r: -(r[2]["after_one"] + r[3]["after_one"])):
        first = r[2]["first"] + r[3]["first"]
        if first > best_first + 1e-9:
            best_first = first
            frontier.append(r)
    for r in frontier[:12]:
        print("    " + line(r))


def per_category_floors(parses_by_set, catalog, start: float, floor_of_after: float) -> None:
    """Coordinate ascent over one floor per category, fitted on the clean folds only (most
    first guesses keeping after-one >= floor_of_after there); the messy folds check it."""
    clean = decision_table(*parses_by_set["clean"], catalog)
    messy = decision_table(*parses_by_set["messy"], catalog)
    floors = {c: start for c in catalog.categories}
    for _ in range(2):
        for c in sorted(floors):
            best = (grid_figures(clean, floors, 0.0)["first"], floors[c])
            for f in np.round(np.arange(0.5, 0.991, 0.01), 2):
                trial = {**floors, c: float(f)}
                g = grid_figures(clean, trial, 0.0)
                if g["after_one"] >= floor_of_after and g["first"] > best[0] + 1e-9:
                    best = (g["first"], float(f))
            floors[c] = best[1]
    for name, t in (("clean (fitted)", clean), ("messy (check)", messy), ):
        g, base = grid_figures(t, floors, 0.0), grid_figures(t, start, 0.0)
        print(f"  per-category floors {name}: first {g['first']:.1%} after {g['after_one']:.1%} asked {g['asked']:.1%}"
              f"  (one floor {start}: first {base['first']:.1%} after {base['after_one']:.1%})")
    print(f"  floors: {floors}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise", type=int, default=generate_noisy_nlu.PER_EXAMPLE, help="noisy variations per example")
    parser.add_argument("--facts", type=int, default=1, help="complaints-with-facts variations (0/1)")
    parser.add_argument("--c-int", type=float, default=1.0)
    parser.add_argument("--c-cat", type=float, default=1.0)
    parser.add_argument("--weight", default="balanced")
    parser.add_argument("--cat-weight", default="balanced")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--word", type=int, nargs=2, default=[1, 2], metavar=("MIN", "MAX"))
    parser.add_argument("--char", type=int, nargs=2, default=[2, 5], metavar=("MIN", "MAX"))
    parser.add_argument("--keywords", action="store_true", help="catalog sub-reason keywords as features")
    parser.add_argument("--merged", action="store_true", help="one complaint class for the intent classifier")
    parser.add_argument("--spelling", action="store_true", help="symspellpy normalisation of every word first")
    parser.add_argument("--no-unclear", action="store_true", help="vague openings train complain_other's category")
    parser.add_argument("--combine", default="none", help="none | mean | product | geometric: category evidence of both classifiers (measured, not adopted)")
    parser.add_argument("--thresholds", action="store_true")
    parser.add_argument("--target", type=float, nargs="+", default=[0.98])
    parser.add_argument("--per-category", type=float, nargs=2, metavar=("START", "AFTER_ONE"),
                        help="fit one floor per category from START keeping after-one >= AFTER_ONE")
    args = parser.parse_args()
    from bot.catalog import load_catalog

    catalog = load_catalog()
    texts, labels = written()
    print(f"written examples {len(texts)} ({sum(label.startswith(PREFIX) for label in labels)} complaints, "
          f"{sum(map(is_vague_label, labels))} of them vague); {vars(args)}")
    sets = out_of_fold(texts, labels, args)
    print(f"  catalog thresholds {catalog.data.get('understanding')}")
    for name, (parses, gold) in sets.items():
        show(name, figures(parses, gold, catalog))
        hits = [[r["name"] for r in p["complaint_category"]["ranking"]].index(g[len(PREFIX):])
                for p, g in zip(parses, gold) if g.startswith(PREFIX) and not is_vague_label(g)]
        print(f"         category classifier alone: top-1 {np.mean(np.array(hits) < 1):.1%}, "
              f"top-2 {np.mean(np.array(hits) < 2):.1%}, top-3 {np.mean(np.array(hits) < 3):.1%}")
    if args.thresholds:
        for target in args.target:
            choose(sets, catalog, target)
    if args.per_category:
        per_category_floors(sets, catalog, *args.per_category)
    return 0


if __name__ == "__main__":
    sys.exit(main())
