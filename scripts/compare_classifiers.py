"""Reproduces the NLU classifier comparison (issue 12, item 2) with scikit-learn on the
same features our Rasa pipeline builds (Rasa's whitespace tokens, lower-cased, word and
char_wb n-gram counts), so each variant costs seconds instead of a `rasa train`.

    PYTHONPATH=. .venv/bin/python scripts/compare_classifiers.py [--banking77] [--slow]

For every variant it prints 5-fold cross-validation on data/nlu (intent accuracy and macro-F1,
and complaint category right at first guess), and with --banking77 accuracy and training time
on BANKING77 (../shared/data/banking77: train 10,003 / test 3,080). --slow adds today's
C=10 logistic regression on BANKING77 (~6 minutes). --thresholds picks the ask-thresholds of
actions/understanding.py from out-of-fold confidences (the `understanding:` catalog section);
scripts/tune_understanding.py does that with the generated examples kept inside the training
folds and on messy copies of the test folds, and is the one the catalog's thresholds come from.
Held-out sets are never read here.
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BANKING = ROOT.parent / "shared" / "data" / "banking77"
PREFIX = "complain_"


# ---- data -----------------------------------------------------------------------------
def rasa_tokens(texts: Sequence[str]) -> List[str]:
    """Each text as Rasa's WhitespaceTokenizer + CountVectorsFeaturizer see it."""
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.training_data.message import Message

    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    return [" ".join(t.text.lower() for t in tokenizer.tokenize(Message(data={"text": x}), "text")) for x in texts]


def training_data() -> Tuple[List[str], np.ndarray]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(ROOT / "data" / "nlu"))
    examples = [(m.get("text"), m.get("intent")) for m in data.intent_examples]
    return [t for t, _ in examples], np.array([i for _, i in examples])


def banking77() -> Tuple[List[str], np.ndarray, List[str], np.ndarray]:
    def read(name):
        with open(BANKING / name, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return [r["text"] for r in rows], np.array([r["category"] for r in rows])
    return (*read("train.csv"), *read("test.csv"))


# ---- spelling normalisation (symspellpy, its bundled English frequency dictionary) ------
_SPELL = None


def spell_normalise(texts: Sequence[str]) -> List[str]:
    global _SPELL
    if _SPELL is None:
        import importlib.resources

        from symspellpy import SymSpell, Verbosity

        speller = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        path = importlib.resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt"
        speller.load_dictionary(str(path), term_index=0, count_index=1)
        _SPELL = (speller, Verbosity)
    speller, verbosity = _SPELL
    out = []
    for text in texts:
        words = []
        for w in text.split():
            if len(w) < 4 or not w.isalpha():
                words.append(w)
                continue
            hit = speller.lookup(w, verbosity.TOP, max_edit_distance=2, include_unknown=True)
            words.append(hit[0].term if hit else w)
        out.append(" ".join(words))
    return out


# ---- features ---------------------------------------------------------------------------
def catalog_keyword_phrases() -> List[Tuple[str, str]]:
    """(category.sub_reason, keyword) for every sub-reason keyword in policy/catalog.yml."""
    from bot.catalog import load_catalog

    cat = load_catalog()
    return [(f"{code}.{sub}", kw.lower()) for code, spec in cat.categories.items()
            for sub, s in spec["sub_reasons"].items() for kw in s.get("keywords", [])]


@dataclass
class Features:
    tfidf: bool = False
    word: Tuple[int, int] = (1, 2)
    char: Optional[Tuple[int, int]] = (2, 5)
    keywords: bool = False
    spelling: bool = False
    _fitted: list = field(default_factory=list)

    def fit_transform(self, texts: Sequence[str]) -> csr_matrix:
        self._fitted = []
        blocks = []
        for vec in self._vectorizers():
            counts = vec.fit_transform(texts)
            tf = TfidfTransformer(sublinear_tf=True).fit(counts) if self.tfidf else None
            self._fitted.append((vec, tf))
            blocks.append(tf.transform(counts) if tf else counts)
        if self.keywords:
            blocks.append(self._keywords(texts))
        return hstack(blocks, format="csr")

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        blocks = [tf.transform(vec.transform(texts)) if tf else vec.transform(texts) for vec, tf in self._fitted]
        if self.keywords:
            blocks.append(self._keywords(texts))
        return hstack(blocks, format="csr")

    def _vectorizers(self):
        yield CountVectorizer(analyzer="word", ngram_range=self.word, token_pattern=r"(?u)\b\w+\b")
        if self.char:
            yield CountVectorizer(analyzer="char_wb", ngram_range=self.char)

    def _keywords(self, texts: Sequence[str]) -> csr_matrix:
        block = keyword_matrix(texts)
        return normalize(block) if self.tfidf else block


def keyword_matrix(texts: Sequence[str]) -> csr_matrix:
    """One column per catalog sub-reason: does any of its keywords occur in the (lower-cased)
    text — what a Rasa lookup table per sub-reason adds through RegexFeaturizer."""
    phrases = catalog_keyword_phrases()
    subs = sorted({s for s, _ in phrases if s})
    patterns = {s: re.compile("|".join(r"(?<![a-z0-9])" + re.escape(k) + r"(?![a-z0-9])"
                                       for sub, k in phrases if sub == s)) for s in subs}
    return csr_matrix(np.array([[1.0 if patterns[s].search(t) else 0.0 for s in subs] for t in texts]))


# ---- models -----------------------------------------------------------------------------
def lr(C: float = 10.0, balanced: bool = False):
    return lambda: LogisticRegression(C=C, max_iter=1000, class_weight="balanced" if balanced else None)


def svc(C: float = 1.0, balanced: bool = False):
    return lambda: LinearSVC(C=C, class_weight="balanced" if balanced else None)


@dataclass
class Variant:
    name: str
    features: Callable[[], Features]
    model: Callable[[], object]
    separate_categories: bool = False


VARIANTS = [
    Variant("a  counts w1-2 c2-5 + LR C=10 balanced (today)", lambda: Features(), lr(10, True)),
    Variant("b  tfidf-sublinear w1-2 c2-5 + LinearSVC C=1", lambda: Features(tfidf=True), svc(1)),
    Variant("b' tfidf + LinearSVC C=0.5", lambda: Features(tfidf=True), svc(0.5)),
    Variant("b' tfidf + LinearSVC C=2", lambda: Features(tfidf=True), svc(2)),
    Variant("c1 b + balanced class weights", lambda: Features(tfidf=True), svc(1, True)),
    Variant("c2 b, word 1-3", lambda: Features(tfidf=True, word=(1, 3)), svc(1)),
    Variant("c2 b, char_wb 1-4", lambda: Features(tfidf=True, char=(1, 4)), svc(1)),
    Variant("c2 b, char_wb 2-6", lambda: Features(tfidf=True, char=(2, 6)), svc(1)),
    Variant("c2 b, char_wb 3-5", lambda: Features(tfidf=True, char=(3, 5)), svc(1)),
    Variant("c2 b, word 1-1 only (no chars)", lambda: Features(tfidf=True, char=None, word=(1, 1)), svc(1)),
    Variant("c3 b + catalog keyword features", lambda: Features(tfidf=True, keywords=True), svc(1)),
    Variant("c4 b + symspell normalisation", lambda: Features(tfidf=True, spelling=True), svc(1)),
    Variant("c5 b + separate category classifier", lambda: Features(tfidf=True), svc(1), True),
    Variant("c5 a + separate category classifier", lambda: Features(), lr(10), True),
    Variant("c6 c5(b) + balanced", lambda: Features(tfidf=True), svc(1, True), True),
    Variant("c7 c5(b) + keywords", lambda: Features(tfidf=True, keywords=True), svc(1), True),
]


def scores(model, X) -> np.ndarray:
    return model.decision_function(X) if hasattr(model, "decision_function") else model.predict_proba(X)


def category_first_guess(intent_pred: Sequence[str], category_pred: Sequence[Optional[str]], gold: Sequence[str]) -> float:
    """Of the complaints, how many get the right category without asking."""
    right = total = 0
    for intent, category, g in zip(intent_pred, category_pred, gold):
        if not g.startswith(PREFIX):
            continue
        total += 1
        if intent.startswith(PREFIX) or intent == "inform":
            right += category == g
    return right / total


def cross_validate(variant: Variant, texts: List[str], labels: np.ndarray, folds: int = 5) -> Dict[str, float]:
    prepared = spell_normalise(texts) if variant.features().spelling else texts
    intent_pred = np.empty(len(texts), dtype=object)
    category_pred = np.empty(len(texts), dtype=object)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(prepared, labels):
        feats = variant.features()
        X = feats.fit_transform([prepared[i] for i in train])
        Xt = feats.transform([prepared[i] for i in test])
        model = variant.model().fit(X, labels[train])
        intent_pred[test] = model.predict(Xt)
        if variant.separate_categories:
            complaints = np.array([labels[i].startswith(PREFIX) for i in train])
            cat_model = variant.model().fit(X[complaints], labels[train][complaints])
            category_pred[test] = cat_model.predict(Xt)
        else:
            s = scores(model, Xt)
            cats = [j for j, c in enumerate(model.classes_) if c.startswith(PREFIX)]
            category_pred[test] = model.classes_[cats][np.argmax(s[:, cats], axis=1)]
    return {
        "cv_accuracy": accuracy_score(labels, intent_pred),
        "cv_macro_f1": f1_score(labels, intent_pred, average="macro"),
        "cv_category_first_guess": category_first_guess(intent_pred, category_pred, labels),
    }


def banking(variant: Variant, data) -> Dict[str, float]:
    train_x, train_y, test_x, test_y = data
    if variant.features().spelling:
        train_x, test_x = spell_normalise(train_x), spell_normalise(test_x)
    started = time.perf_counter()
    feats = variant.features()
    model = variant.model().fit(feats.fit_transform(train_x), train_y)
    seconds = time.perf_counter() - started
    return {"b77_accuracy": accuracy_score(test_y, model.predict(feats.transform(test_x))), "b77_train_s": seconds}


# ---- thresholds for actions/understanding.py -----------------------------------------
def out_of_fold_parses(texts: List[str], raw: List[str], labels: np.ndarray, folds: int = 5) -> List[dict]:
    """Each training example's parse data as the product would produce it (the product's own
    TfidfWeights and CalibratedSVM, temperatures fitted inside the training folds) from
    models that never saw it."""
    from bot.rasa_ext.nlu import pipeline
    from bot.rasa_ext.nlu.svm_classifier import CalibratedSVM, TfidfSVMClassifier, TfidfWeights

    calibration_folds = pipeline.settings(TfidfSVMClassifier)["calibration_folds"]
    parses: List[dict] = [None] * len(texts)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=1).split(texts, labels):
        vecs = [CountVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b"),
                CountVectorizer(analyzer="char_wb", ngram_range=(2, 5))]
        blocks = [v.fit_transform([texts[i] for i in train]) for v in vecs]
        counts = hstack(blocks, format="csr")
        weights = TfidfWeights.fit(counts, np.cumsum([b.shape[1] for b in blocks]))
        X = weights.transform(counts)
        y = labels[train]
        intents = CalibratedSVM.fit(X, y, 1.0, "balanced", calibration_folds)
        mask = np.char.startswith(y.astype(str), PREFIX)
        categories = CalibratedSVM.fit(X[mask], y[mask], 1.0, "balanced", calibration_folds)
        Xt = weights.transform(hstack([v.transform([texts[i] for i in test]) for v in vecs], format="csr"))
        for i, pi, pc in zip(test, intents.predict_proba(Xt), categories.predict_proba(Xt)):
            ranking = sorted(({"name": str(c), "confidence": float(p)} for c, p in zip(intents.classes_, pi)),
                             key=lambda e: -e["confidence"])
            cats = sorted(({"name": str(c)[len(PREFIX):], "confidence": float(p)} for c, p in zip(categories.classes_, pc)),
                          key=lambda e: -e["confidence"])
            intent = ranking[0] if ranking[0]["confidence"] >= 0.3 else {"name": "nlu_fallback", "confidence": 1.0}
            parses[i] = {"text": raw[i], "intent": intent, "intent_ranking": ranking[:10],
                         "complaint_category": {**cats[0], "ranking": cats}}
    return parses


def decision_figures(parses: List[dict], raw: List[str], labels: np.ndarray, catalog) -> Dict[str, float]:
    from actions.understanding import decide_category

    first = after_one = asked = total = 0
    for parse, text, gold in zip(parses, raw, labels):
        if not gold.startswith(PREFIX):
            continue
        total += 1
        d = decide_category(parse, text, catalog)
        first += d.category == gold[len(PREFIX):]
        after_one += d.category == gold[len(PREFIX):] or (d.category is None and gold[len(PREFIX):] in d.options)
        asked += d.category is None and bool(d.options)
    return {"first": first / total, "after_one": after_one / total, "asked": asked / total}


def top_k(parses: List[dict], labels: np.ndarray, k: int) -> float:
    hits = [g[len(PREFIX):] in [r["name"] for r in p["complaint_category"]["ranking"][:k]]
            for p, g in zip(parses, labels) if g.startswith(PREFIX)]
    return sum(hits) / len(hits)


def choose_thresholds(texts: List[str], raw: List[str], labels: np.ndarray, target: float = 0.98) -> None:
    """Grid over (confidence floor, margin): the pair with the most right first guesses among
    those keeping right-after-one-clarification >= target. Also prints how often a complaint
    would go to FallbackClassifier at 0.3."""
    from bot.catalog import load_catalog

    catalog = load_catalog()
    parses = out_of_fold_parses(texts, raw, labels)
    print(f"category classifier alone: top-1 {top_k(parses, labels, 1):.1%}, top-2 {top_k(parses, labels, 2):.1%}, "
          f"top-3 {top_k(parses, labels, 3):.1%}")
    base = catalog.data.get("understanding") or {}
    best = None
    for floor in np.round(np.arange(0.0, 0.991, 0.01), 2):
        for margin in np.round(np.arange(0.0, 0.81, 0.05), 2):
            catalog.data["understanding"] = {**base, "confidence_floor": float(floor), "margin": float(margin)}
            f = decision_figures(parses, raw, labels, catalog)
            if f["after_one"] >= target and (best is None or f["first"] > best[0]["first"] + 1e-9):
                best = (f, floor, margin)
    catalog.data["understanding"] = base
    now = decision_figures(parses, raw, labels, catalog)
    print(f"catalog's thresholds now {base}: first guess {now['first']:.1%}, after one clarification "
          f"{now['after_one']:.1%}, asked {now['asked']:.1%}")
    if best:
        f, floor, margin = best
        print(f"best with after-one >= {target:.0%}: confidence_floor {floor}, margin {margin}: first guess "
              f"{f['first']:.1%}, after one {f['after_one']:.1%}, asked {f['asked']:.1%}")
    else:
        print(f"no threshold pair keeps after-one-clarification >= {target:.0%} on cross-validation")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--banking77", action="store_true")
    parser.add_argument("--slow", action="store_true", help="include C=10 logistic regression on BANKING77")
    parser.add_argument("--only", help="substring of the variant names to run")
    parser.add_argument("--thresholds", action="store_true")
    args = parser.parse_args()
    texts, labels = training_data()
    tokens = rasa_tokens(texts)
    print(f"data/nlu: {len(texts)} examples, {len(set(labels))} intents, "
          f"{sum(label.startswith(PREFIX) for label in labels)} complaints")
    if args.thresholds:
        choose_thresholds(tokens, texts, labels)
        return 0
    b77 = None
    if args.banking77:
        tx, ty, sx, sy = banking77()
        b77 = (rasa_tokens(tx), ty, rasa_tokens(sx), sy)
    print(f"{'variant':45s} {'CV acc':>7s} {'CV mF1':>7s} {'CV cat1':>7s} {'B77 acc':>8s} {'B77 s':>7s}")
    for variant in VARIANTS:
        if args.only and args.only not in variant.name:
            continue
        row = cross_validate(variant, tokens, labels)
        if b77 is not None and not variant.separate_categories and (args.slow or "LR" not in variant.name):
            row.update(banking(variant, b77))
        print(f"{variant.name:45s} {row['cv_accuracy']:7.1%} {row['cv_macro_f1']:7.1%} {row['cv_category_first_guess']:7.1%} "
              + (f"{row['b77_accuracy']:8.1%} {row['b77_train_s']:7.1f}" if "b77_accuracy" in row else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
