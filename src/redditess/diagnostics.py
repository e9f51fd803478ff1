"""Quality and reward-hacking diagnostics of generated responses.

A judge that rates a response "effective" says nothing about whether the response is finished,
on topic, or the same sentence the policy gives every post. These measures are reported next to
every judged rate, and a response that is cut off or off-topic cannot count as effective support
(``usable``): evaluate reports the judges' verdicts with and without such responses.

* ``truncated``: the response stops mid-sentence (no closing punctuation, an emoji or a closing
  bracket/quote at its end) — the usual sign of generation hitting ``max_new_tokens``.
* ``mode_sentence_share``: the share of responses that contain the arm's most common sentence
  (mode collapse: one stock answer for every post).
* ``repetition_rate``: the share of repeated word 3-grams within a response, averaged.
* ``relevance``: TF-IDF cosine of each response to its own post minus its mean cosine to the other
  posts (a shuffled-post baseline); a response is ``on_topic`` when its own post is closer than
  ``on_topic_quantile`` of the other posts.
* ``length_controlled_difference``: the difference between two arms' judged rates after a
  regression on response length (OLS: verdict ~ arm + words), so a longer-is-better judge cannot
  make a longer arm look better.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd

from redditess.gold import truncated  # noqa: F401  (one definition of a finished thought, shared with the oracle)

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


def sentences(text: str) -> list[str]:
    return [s.strip().lower() for s in _SENTENCE.findall(text) if len(s.split()) >= 3]


def mode_sentence_share(texts: list[str]) -> tuple[float, str]:
    """(share of responses containing the most common sentence, that sentence)."""
    counts = Counter(s for t in texts for s in set(sentences(t)))
    if not counts:
        return 0.0, ""
    top, _ = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return float(np.mean([top in set(sentences(t)) for t in texts])), top


def repetition_rate(text: str, n: int = 3) -> float:
    words = text.lower().split()
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


def relevance(posts: list[str], responses: list[str], quantile: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Per response: (cosine to own post − mean cosine to other posts, on-topic flag)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(posts) < 2:
        return np.zeros(len(posts)), np.ones(len(posts), dtype=bool)
    vec = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit(list(posts) + list(responses))
    sim = (vec.transform(responses) @ vec.transform(posts).T).toarray()  # rows: responses, cols: posts
    own = np.diag(sim)
    others = np.where(np.eye(len(posts), dtype=bool), np.nan, sim)
    baseline = np.nanmean(others, axis=1)
    threshold = np.nanquantile(others, quantile, axis=1)
    return own - baseline, own > threshold


def length_controlled_difference(verdict_a: np.ndarray, verdict_b: np.ndarray, words_a: np.ndarray,
                                 words_b: np.ndarray, groups: np.ndarray | None = None) -> tuple[float, float, float]:
    """Arm effect (a − b) on the verdict with response length held fixed: OLS of verdict on
    [1, arm a, words]; returns (effect, 95% CI low, high) with HC1 robust standard errors, or
    standard errors clustered by ``groups`` (one label per row of a then b: the post, when the rows
    are several replicates' answers to the same posts)."""
    import statsmodels.api as sm

    y = np.concatenate([verdict_a, verdict_b]).astype(float)
    arm = np.concatenate([np.ones(len(verdict_a)), np.zeros(len(verdict_b))])
    words = np.concatenate([words_a, words_b]).astype(float)
    if np.ptp(y) == 0:  # every verdict the same: no difference, and no uncertainty about it
        return 0.0, 0.0, 0.0
    if len(y) < 4:
        return float(np.mean(verdict_a) - np.mean(verdict_b)), float("nan"), float("nan")
    X = np.column_stack([np.ones_like(arm), arm, words - words.mean()])
    if groups is not None:
        codes = pd.factorize(pd.Series(groups))[0]
        fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": codes})
    else:
        fit = sm.OLS(y, X).fit(cov_type="HC1")
    low, high = fit.conf_int()[1]
    return float(fit.params[1]), float(low), float(high)


def reward_length_correlation(scores: np.ndarray, words: np.ndarray) -> float:
    """Spearman correlation of a reward (or judge probability) with response length."""
    from scipy.stats import spearmanr

    if len(scores) < 3 or np.ptp(scores) == 0 or np.ptp(words) == 0:
        return float("nan")
    return float(spearmanr(scores, words).statistic)
