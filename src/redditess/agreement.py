"""Agreement between labelers: pairwise Cohen's kappa, Fleiss' kappa, Krippendorff's alpha, and
agreement per class, each with a bootstrap 95% confidence interval over comments; each labeler
against the rest, and the LLM judges' pairwise error correlation (judges that err together are not
independent evidence; see ``aggregate.merge_judges``)."""

from __future__ import annotations

import itertools

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from redditess.baselines import random_labeler_agreement


def cohen(a: np.ndarray, b: np.ndarray) -> float:
    both = ~np.isnan(a) & ~np.isnan(b)
    if both.sum() < 2 or len(set(a[both]) | set(b[both])) < 2:
        return float("nan")
    return float(cohen_kappa_score(a[both], b[both], labels=[0, 1]))


def fleiss(votes: np.ndarray) -> float:
    full = votes[~np.isnan(votes).any(axis=1)]
    if len(full) < 2:
        return float("nan")
    table, _ = aggregate_raters(full.astype(int), n_cat=2)
    with np.errstate(invalid="ignore", divide="ignore"):  # one category only: kappa undefined (NaN)
        return float(fleiss_kappa(table, method="fleiss"))


def kalpha(votes: np.ndarray) -> float:
    usable = (~np.isnan(votes)).sum(axis=1) >= 2
    data = votes[usable]
    if len(data) < 2 or len(np.unique(data[~np.isnan(data)])) < 2:
        return float("nan")
    return float(krippendorff.alpha(reliability_data=data.T, level_of_measurement="nominal"))


def class_agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(positive, negative) specific agreement: 2n11/(2n11+n10+n01), 2n00/(2n00+n10+n01)."""
    both = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[both], b[both]
    n11, n00 = np.sum((a == 1) & (b == 1)), np.sum((a == 0) & (b == 0))
    off = np.sum(a != b)
    pos = 2 * n11 / (2 * n11 + off) if (2 * n11 + off) else float("nan")
    neg = 2 * n00 / (2 * n00 + off) if (2 * n00 + off) else float("nan")
    return float(pos), float(neg)


def majority(votes: np.ndarray) -> np.ndarray:
    """Majority label per row over the non-missing votes; a tie or no vote is NaN."""
    ones, voted = np.nansum(votes, axis=1), (~np.isnan(votes)).sum(axis=1)
    return np.where(2 * ones > voted, 1.0, np.where(2 * ones < voted, 0.0, np.nan))


def versus_rest(votes: np.ndarray, j: int) -> float:
    """Cohen's kappa of labeler ``j`` against the majority of all the other labelers."""
    return cohen(votes[:, j], majority(np.delete(votes, j, axis=1)))


def error_correlation(votes: np.ndarray, i: int, j: int) -> tuple[float, int]:
    """(Pearson correlation of the errors of labelers i and j, comments used). An error is a vote
    against the majority of the *other* labelers (neither i nor j, so the pair cannot make its own
    reference); comments where i, j or that reference abstain are left out. Independent labelers
    score near 0, labelers that copy each other's mistakes near 1; NaN when either never or always errs."""
    ref = majority(np.delete(votes, [i, j], axis=1)) if votes.shape[1] > 2 else np.full(len(votes), np.nan)
    ok = ~np.isnan(votes[:, i]) & ~np.isnan(votes[:, j]) & ~np.isnan(ref)
    ei = (votes[ok, i] != ref[ok]).astype(float)
    ej = (votes[ok, j] != ref[ok]).astype(float)
    if ok.sum() < 2 or ei.std() == 0 or ej.std() == 0:
        return float("nan"), int(ok.sum())
    return float(np.corrcoef(ei, ej)[0, 1]), int(ok.sum())


def is_judge(name: str) -> bool:
    """LLM judges' labelers are named ``llm_<judge name>``."""
    return name.startswith("llm_")


def _ci(stat, votes: np.ndarray, rng: np.random.Generator, n_boot: int) -> tuple[float, float]:
    n = len(votes)
    values = [stat(votes[rng.integers(0, n, n)]) for _ in range(n_boot)]
    values = np.asarray([v for v in values if not np.isnan(v)])
    if len(values) < max(10, n_boot // 10):
        return float("nan"), float("nan")
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def agreement(votes: np.ndarray, names: list[str], n_boot: int, seed: int) -> tuple[dict, list[dict]]:
    """Return (flat metrics, rows of the pairwise table) for a comments x labelers vote matrix."""
    rng = np.random.default_rng(seed)
    metrics: dict[str, float] = {}
    for j, name in enumerate(names):
        col = votes[:, j]
        metrics[f"coverage_{name}"] = float((~np.isnan(col)).mean())
        metrics[f"effective_rate_{name}"] = float(np.nanmean(col)) if (~np.isnan(col)).any() else float("nan")
    for key, stat in (("fleiss_kappa", fleiss), ("krippendorff_alpha", kalpha)):
        metrics[key] = stat(votes)
        metrics[f"{key}_ci_low"], metrics[f"{key}_ci_high"] = _ci(stat, votes, rng, n_boot)
    metrics["n_all_voted"] = int((~np.isnan(votes)).all(axis=1).sum())
    rows, pos_all, neg_all = [], [], []
    for i, j in itertools.combinations(range(len(names)), 2):
        pair = votes[:, [i, j]]
        kappa = cohen(pair[:, 0], pair[:, 1])
        low, high = _ci(lambda v: cohen(v[:, 0], v[:, 1]), pair, rng, n_boot)
        pos, neg = class_agreement(pair[:, 0], pair[:, 1])
        n = int((~np.isnan(pair)).all(axis=1).sum())
        key = f"{names[i]}__{names[j]}"
        metrics.update({f"cohen_kappa_{key}": kappa, f"cohen_kappa_{key}_ci_low": low,
                        f"cohen_kappa_{key}_ci_high": high, f"positive_agreement_{key}": pos,
                        f"negative_agreement_{key}": neg, f"n_both_voted_{key}": n})
        # "More agreement on effective than on ineffective" with its CI, and what two independent
        # random labelers at these base rates would show (a gap whenever the base rate is not 1/2).
        gap = lambda v: float(np.subtract(*class_agreement(v[:, 0], v[:, 1])))  # noqa: E731
        metrics[f"class_agreement_gap_{key}"] = pos - neg
        metrics[f"class_agreement_gap_{key}_ci_low"], metrics[f"class_agreement_gap_{key}_ci_high"] = _ci(gap, pair, rng, n_boot)
        both = (~np.isnan(pair)).all(axis=1)
        if both.any():
            p1, p2 = float(pair[both, 0].mean()), float(pair[both, 1].mean())
            metrics[f"baseline_random_class_agreement_gap_{key}"] = random_labeler_agreement(p1, p2)["positive_minus_negative_agreement"]
            # two seeded random labelers at these base rates, on as many comments: their κ
            draws = rng.random((100, int(both.sum()), 2)) < np.array([p1, p2])
            metrics[f"baseline_random_cohen_kappa_{key}"] = float(np.mean([cohen(d[:, 0].astype(float), d[:, 1].astype(float))
                                                                           for d in draws]))
        rows.append(dict(a=names[i], b=names[j], n=n, kappa=kappa, low=low, high=high, pos=pos, neg=neg))
        pos_all.append(pos)
        neg_all.append(neg)
    for j, name in enumerate(names):
        metrics[f"kappa_vs_rest_{name}"] = versus_rest(votes, j) if len(names) > 1 else float("nan")
    judges = [j for j, n in enumerate(names) if is_judge(n)]
    for i, j in itertools.combinations(judges, 2):
        metrics[f"error_correlation_{names[i]}__{names[j]}"], metrics[f"n_error_correlation_{names[i]}__{names[j]}"] = \
            error_correlation(votes, i, j)
    metrics["positive_agreement_mean"] = float(np.nanmean(pos_all)) if pos_all else float("nan")
    metrics["negative_agreement_mean"] = float(np.nanmean(neg_all)) if neg_all else float("nan")
    metrics["class_agreement_gap"] = metrics["positive_agreement_mean"] - metrics["negative_agreement_mean"]
    return metrics, rows


def markdown(metrics: dict, rows: list[dict], names: list[str]) -> str:
    def f(x):
        return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.3f}"

    lines = ["# Labeler agreement", "",
             "Abstentions are missing values: each statistic uses the comments its labelers voted on.", "",
             "| statistic | value | 95% CI |", "|---|---:|---|"]
    for key, label in (("fleiss_kappa", "Fleiss' kappa (comments all labelers voted on)"),
                       ("krippendorff_alpha", "Krippendorff's alpha (nominal, missing allowed)")):
        lines.append(f"| {label} | {f(metrics[key])} | [{f(metrics[key + '_ci_low'])}, {f(metrics[key + '_ci_high'])}] |")
    lines += ["", "## Pairs", "",
              "| labeler A | labeler B | comments both voted | Cohen's kappa | 95% CI | agreement on effective | agreement on ineffective |",
              "|---|---|---:|---:|---|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['a']} | {r['b']} | {r['n']} | {f(r['kappa'])} | [{f(r['low'])}, {f(r['high'])}] | {f(r['pos'])} | {f(r['neg'])} |")
    lines += ["", "## Labelers", "", "| labeler | coverage | effective rate | Cohen's kappa against the rest's majority |",
              "|---|---:|---:|---:|"]
    for n in names:
        lines.append(f"| {n} | {f(metrics['coverage_' + n])} | {f(metrics['effective_rate_' + n])} | "
                     f"{f(metrics.get('kappa_vs_rest_' + n))} |")
    pairs = [(a, b) for a, b in itertools.combinations([n for n in names if is_judge(n)], 2)]
    if pairs:
        lines += ["", "## Judges' error correlation", "",
                  "An error is a vote against the majority of the other labelers; judges whose errors correlate "
                  "are not independent evidence (`aggregate.merge_judges`).", "",
                  "| judge A | judge B | comments | error correlation |", "|---|---|---:|---:|"]
        for a, b in pairs:
            lines.append(f"| {a} | {b} | {metrics[f'n_error_correlation_{a}__{b}']} | "
                         f"{f(metrics[f'error_correlation_{a}__{b}'])} |")
    return "\n".join(lines) + "\n"


def versus_reference(pred: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Agreement of one labeler with a reference (the human majority): n, accuracy, kappa, and
    per-class agreement (positive on 'effective', negative on 'ineffective')."""
    both = ~np.isnan(pred) & ~np.isnan(ref)
    pos, neg = class_agreement(pred, ref)
    return {"n": int(both.sum()), "accuracy": float((pred[both] == ref[both]).mean()) if both.any() else float("nan"),
            "kappa": cohen(pred, ref), "positive_agreement": pos, "negative_agreement": neg}


def human_agreement(human: np.ndarray, n_boot: int, seed: int) -> tuple[dict[str, float], np.ndarray]:
    """Human-human agreement (comments x annotators, NaN = not rated) and the human majority label."""
    rng = np.random.default_rng(seed)
    metrics = {"human_annotators": human.shape[1], "human_comments": human.shape[0]}
    for key, stat in (("human_fleiss_kappa", fleiss), ("human_krippendorff_alpha", kalpha)):
        metrics[key] = stat(human)
        metrics[f"{key}_ci_low"], metrics[f"{key}_ci_high"] = _ci(stat, human, rng, n_boot)
    ones, rated = np.nansum(human, axis=1), (~np.isnan(human)).sum(axis=1)
    majority = np.where(2 * ones > rated, 1.0, np.where(2 * ones < rated, 0.0, np.nan))
    return metrics, majority


def confusion_figure(votes: np.ndarray, names: list[str], path) -> None:
    """A grid of 2x2 confusion matrices, one per labeler pair, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from redditess.io import atomic_path

    pairs = list(itertools.combinations(range(len(names)), 2))
    cols = min(3, max(1, len(pairs)))
    rows = max(1, -(-len(pairs) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 3.1 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (i, j) in zip(axes.flat, pairs, strict=False):
        both = ~np.isnan(votes[:, i]) & ~np.isnan(votes[:, j])
        a, b = votes[both, i], votes[both, j]
        m = np.array([[np.sum((a == x) & (b == y)) for y in (1, 0)] for x in (1, 0)])
        ax.axis("on")
        ax.imshow(m, cmap="Blues", vmin=0)
        for (x, y), v in np.ndenumerate(m):
            # white on the dark cells, black on the light ones: every count stays readable
            ax.text(y, x, str(v), ha="center", va="center", color="white" if v > m.max() / 2 else "black")
        ax.set_xticks([0, 1], ["eff", "ineff"])
        ax.set_yticks([0, 1], ["eff", "ineff"])
        ax.set_xlabel(names[j])
        ax.set_ylabel(names[i])
    fig.suptitle("Labeler confusion (comments both voted on)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
