"""The second evaluation judge: one that never saw the ensemble labels.

The first judge (the classifier stage) learns the ensemble labels, as the reward model does, so the
two can share the labels' blind spots (length, politeness). The second judge does not:

* ``truth`` (demo): a classifier trained by the same code as the first (``redditess.classifier``)
  on the demo simulator's hidden true labels of the ``split.second_judge_share`` posts, disjoint from
  the first judge's and the policy's posts;
* ``llm`` (paper): an LLM through the ledgered judge client (``redditess.judges``: concurrency,
  retries, ledger, cost estimate) with its own prompt (``prompts/second_judge_effective_v1.md``);
* ``none``: no second judge.

``models/second_judge/second_judge.json`` records which one the second_judge stage built;
:func:`load_second_judge` gives a scorer, (prompts, responses) -> P(effective), and
:func:`second_judge_metrics` computes the ``judge2_`` verdicts exactly as evaluate does the first
judge's, with the first judge's helpers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from redditess.config import JudgeConfig, Params
from redditess.runtime import InputError, derive_seed

MODEL_DIR = Path("models/second_judge")
SPEC = "second_judge.json"
TEST_LEDGER = Path("ledgers/second_judge.jsonl")
"""The LLM judge's answers on held-out comments (the second_judge stage's persisted output)."""
GENERATIONS_LEDGER = Path("ledgers/second_judge_generations.jsonl")
"""The LLM judge's answers on the arms' responses (evaluate's persisted output)."""
PREFIX = "judge2"


def read_true_labels(raw_dir: str | Path = "data/raw") -> pd.DataFrame:
    """``comment_id, effective`` (0/1) of the demo simulator's ground truth; comments with a null
    truth (bots, spam) are absent. Empty for sources without a truth (real dumps, praw)."""
    from redditess.validity import read_truth

    return read_truth(Path(raw_dir) / "truth.parquet")


def attach_truth(rows: pd.DataFrame, truth: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``rows`` with their true label in ``truth_label``; rows without one (null or absent truth)
    are dropped and counted (the second return value)."""
    merged = rows.merge(truth.rename(columns={"effective": "truth_label"}), on="comment_id", how="left")
    kept = merged[merged.truth_label.notna()].astype({"truth_label": int})
    return kept, int(len(merged) - len(kept))


def require_truth(truth: pd.DataFrame, params: Params) -> None:
    if truth.empty:
        raise InputError(f"second_judge: second_judge.kind is truth but data/raw/truth.parquet holds no ground truth "
                         f"(collect.source {params.collect.source}: only the demo simulator has one); "
                         "set second_judge.kind to llm or none in params.yaml")


# --------------------------------------------------------------------------- scorers
class ClassifierJudge:
    """The ``truth`` judge: the classifier saved in ``models/second_judge``."""

    def __init__(self, path: Path, max_length: int):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.tok = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForSequenceClassification.from_pretrained(path)
        self.model.to("cuda" if torch.cuda.is_available() else "cpu")
        self.max_length = max_length

    def score(self, prompts: list[str], responses: list[str]) -> np.ndarray:
        from redditess.classifier import predict_proba

        return predict_proba(self.model, self.tok, prompts, responses, self.max_length)


class LlmJudge:
    """The ``llm`` judge: each (post, response) asked once through :func:`redditess.judges.judge_all`
    (answers kept in ``ledger``); P(effective) is 1 or 0, NaN where the model abstained."""

    def __init__(self, cfg: JudgeConfig, ledger: Path, seed: int):
        if not Path(cfg.prompt).is_file():
            raise InputError(f"params.yaml: second_judge.llm.prompt: {cfg.prompt} not found")
        self.cfg, self.ledger, self.seed = cfg, Path(ledger), seed
        self.template = Path(cfg.prompt).read_text(encoding="utf-8")
        self.stats = None

    def render(self, prompt: str, response: str) -> str:
        # str.replace, not str.format: the template shows JSON braces.
        return self.template.replace("{post}", prompt).replace("{response}", response)

    def score(self, prompts: list[str], responses: list[str]) -> np.ndarray:
        """P(effective) per (prompt, response). The ledger then keeps only these requests' answers:
        a post taken down takes its text out of the ledger too (as the label judges' do), so one
        call must cover every response the ledger is to keep."""
        from redditess.judges import judge_all, request_body, request_key, write_ledger

        bodies = [request_body(self.cfg, self.render(p, r)) for p, r in zip(prompts, responses, strict=True)]
        keys = [request_key(b) for b in bodies]
        entries, self.stats = judge_all(self.cfg, dict(zip(keys, bodies, strict=True)), self.ledger, self.seed)
        current = {k: entries[k] for k in set(keys) if k in entries}
        if len(current) < len(entries):
            write_ledger(self.ledger, current)
        answers = [entries.get(k, {}).get("answer") for k in keys]
        return np.array([float("nan") if a is None else float(a["effective"]) for a in answers])


def write_spec(path: Path, params: Params) -> None:
    spec = {"kind": params.second_judge.kind}
    llm = params.second_judge.llm
    if spec["kind"] == "llm" and llm is not None:
        import hashlib

        spec.update(name=llm.name, model=llm.model, prompt=llm.prompt,
                    prompt_sha256=hashlib.sha256(Path(llm.prompt).read_bytes()).hexdigest())
    (Path(path) / SPEC).write_text(json.dumps(spec, sort_keys=True, indent=1) + "\n", encoding="utf-8")


def load_second_judge(params: Params, seed: int, path: Path = MODEL_DIR, ledger: Path = GENERATIONS_LEDGER):
    """The scorer the second_judge stage built (None for ``none``); a spec that disagrees with
    params.yaml (the stage is stale) stops with one line."""
    spec_path = Path(path) / SPEC
    if not spec_path.is_file():
        raise InputError(f"{spec_path} not found (run `dvc repro second_judge`)")
    kind = json.loads(spec_path.read_text(encoding="utf-8"))["kind"]
    if kind != params.second_judge.kind:
        raise InputError(f"{spec_path} holds a {kind!r} judge but second_judge.kind is {params.second_judge.kind!r} "
                         "(run `dvc repro second_judge`)")
    if kind == "none":
        return None
    if kind == "llm":
        return LlmJudge(params.second_judge.llm, ledger, seed)
    return ClassifierJudge(Path(path), params.classifier.max_length)


def touch_ledger(path: Path) -> None:
    """A judge other than ``llm`` writes no answers, but DVC expects its ledger output to exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


# --------------------------------------------------------------------------- verdicts
# The figures a judge decides; the rest of redditess.evaluate.replicate_metrics (length, repetition,
# mode collapse, relevance) does not depend on the judge and is reported once, under the first's keys.
JUDGED = ("effective_rate", "_minus_", "win_rate_", "judge_prob_mean_", "judge_length_correlation")


def second_judge_metrics(judged: dict[int, pd.DataFrame], discrimination: dict, prompts: pd.Series, cfg,
                         rng: np.random.Generator) -> tuple[dict[str, float], dict[int, dict[str, float]]]:
    """``judge2_`` metrics over the replicates (and per replicate) from ``judged``: per replicate,
    post_id, model, response, ``prob`` (the first judge's P(effective)) and ``prob2`` (the second's;
    NaN where it abstained, which counts as not effective and is counted). They are computed by
    :func:`redditess.evaluate.judged_metrics`, as the first judge's are: per arm the effective rate,
    also counting only usable responses; per pair the difference (all, usable only,
    length-controlled) and the win rate; means, sds and CIs over the replicates. Also the
    discrimination the second_judge stage measured (``metrics/second_judge.json``) and
    ``judge2_usable``: balanced accuracy on the true labels where they exist (demo), else on the
    ensemble labels, at least ``cfg.min_judge_balanced_accuracy``."""
    from redditess.evaluate import judged_metrics

    second = {r: g.assign(prob=g.prob2.fillna(0.0)) for r, g in judged.items()}
    combined, per_replicate, _ = judged_metrics(second, prompts, cfg.threshold, cfg.on_topic_quantile, cfg.bootstrap, rng,
                                                prefix=f"{PREFIX}_")
    keep = lambda k: any(part in k for part in JUDGED)  # noqa: E731
    out = {k: v for k, v in combined.items() if keep(k)}
    per_replicate = {r: {k: v for k, v in m.items() if keep(k)} for r, m in per_replicate.items()}
    # metrics/second_judge.json: judge_* against ensemble labels (named as the first judge's), truth_* against true ones.
    out.update({(PREFIX + k.removeprefix("judge") if k.startswith("judge_") else f"{PREFIX}_{k}"): float(v)
                for k, v in sorted(discrimination.items()) if k.startswith(("judge_", "truth_"))})
    basis = out.get(f"{PREFIX}_truth_balanced_accuracy", float("nan"))
    if np.isnan(basis):
        basis = out.get(f"{PREFIX}_balanced_accuracy", float("nan"))
    out[f"{PREFIX}_usable"] = float(basis >= cfg.min_judge_balanced_accuracy)
    every = pd.concat(judged.values())
    out[f"{PREFIX}_abstentions"] = int(every.prob2.isna().sum())
    out[f"{PREFIX}_agreement_with_judge"] = float(((every.prob2 >= cfg.threshold) == (every.prob >= cfg.threshold)).mean())
    return out, per_replicate


def second_judge_verdicts(judged: dict[int, pd.DataFrame], prompts: pd.Series, params: Params,
                          discrimination_path: Path = Path("metrics/second_judge.json")
                          ) -> tuple[dict[str, float], dict[int, dict[str, float]]]:
    """evaluate's hook: score every replicate's responses (``judged``: post_id, model, response and
    the first judge's ``prob``) with the second judge (``prompts``: post_id -> post text) in one call
    (an LLM judge's ledger keeps only the latest call's answers) and return
    :func:`second_judge_metrics` (nothing for ``second_judge.kind: none``). Its bootstrap draws come
    from a generator of their own, so the first judge's CIs do not depend on this hook's place."""
    seed = derive_seed(params.seed, "evaluate:second_judge")
    judge = load_second_judge(params, seed)
    touch_ledger(GENERATIONS_LEDGER)
    if judge is None:
        return {}, {}
    every = pd.concat([g.assign(replicate=r) for r, g in sorted(judged.items())], ignore_index=True)
    every["prob2"] = judge.score(prompts.loc[every.post_id].tolist(), every.response.tolist())
    scored = {r: g.drop(columns="replicate").reset_index(drop=True) for r, g in every.groupby("replicate", sort=True)}
    discrimination = json.loads(Path(discrimination_path).read_text(encoding="utf-8"))
    return second_judge_metrics(scored, discrimination, prompts, params.evaluate, np.random.default_rng(seed))


def second_judge_report(metrics: dict, arms: list[str], pairs) -> list[str]:
    """The "second judge" section of reports/evaluate.md (empty without a second judge)."""
    if f"{PREFIX}_usable" not in metrics:
        return []

    def f(key, sign=False):
        x = metrics.get(key, float("nan"))
        return "—" if np.isnan(x) else (f"{x:+.3f}" if sign else f"{x:.3f}")

    usable = "usable" if metrics[f"{PREFIX}_usable"] else "NOT usable for claims"
    lines = ["## Second judge", "",
             "A judge that never saw the ensemble labels (`second_judge.kind`; demo: a classifier trained on the "
             "simulator's true labels of posts neither the first judge nor the policy saw; paper: an LLM with its own prompt). "
             f"Discrimination on held-out comments: against their true labels ROC-AUC {f(PREFIX + '_truth_roc_auc')}, "
             f"balanced accuracy {f(PREFIX + '_truth_balanced_accuracy')}, false-positive rate {f(PREFIX + '_truth_false_positive_rate')}; "
             f"against their ensemble labels ROC-AUC {f(PREFIX + '_roc_auc')}, balanced accuracy {f(PREFIX + '_balanced_accuracy')}, "
             f"false-positive rate {f(PREFIX + '_false_positive_rate')} ({usable}; true labels decide where they exist). "
             f"It agrees with the first judge on {f(PREFIX + '_agreement_with_judge')} of the responses; "
             f"{metrics[PREFIX + '_abstentions']} abstentions (counted as not effective).", "",
             "| arm | effective | 95% CI | effective, usable only | 95% CI |", "|---|---:|---|---:|---|"]
    for m in arms:
        k = f"{PREFIX}_effective_rate"
        lines.append(f"| {m} | {f(f'{k}_{m}')} | [{f(f'{k}_{m}_ci_low')}, {f(f'{k}_{m}_ci_high')}] | "
                     f"{f(f'{k}_usable_{m}')} | [{f(f'{k}_usable_{m}_ci_low')}, {f(f'{k}_usable_{m}_ci_high')}] |")
    lines += ["", "| comparison | difference | 95% CI | usable only | length-controlled | win rate | 95% CI |",
              "|---|---:|---|---:|---:|---:|---|"]
    for a, b in pairs:
        k = f"{PREFIX}_{a}_minus_{b}"
        if k not in metrics:
            continue
        w = f"{PREFIX}_win_rate_{a}_vs_{b}"
        lines.append(f"| {a} − {b} | {f(k, True)} | [{f(k + '_ci_low', True)}, {f(k + '_ci_high', True)}] | "
                     f"{f(k + '_usable', True)} | {f(k + '_length_controlled', True)} | {f(w)} | "
                     f"[{f(w + '_ci_low')}, {f(w + '_ci_high')}] |")
    return lines + [""]
