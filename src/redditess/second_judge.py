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
:func:`load_second_judge` gives a scorer, (prompts, responses) -> P(effective), which evaluate
uses exactly as it uses the first judge's (``redditess.evaluate``: the ``judge2`` verdict).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from redditess.config import JudgeConfig, Params
from redditess.runtime import InputError

MODEL_DIR = Path("models/second_judge")
SPEC = "second_judge.json"
TEST_LEDGER = Path("ledgers/second_judge.jsonl")
"""The LLM judge's answers on held-out comments (the second_judge stage's persisted output)."""
GENERATIONS_LEDGER = Path("ledgers/second_judge_generations.jsonl")
"""The LLM judge's answers on the arms' responses (evaluate's persisted output)."""


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
    """The ``truth`` judge: the classifier saved in ``models/second_judge`` (``redditess.classifier``)."""

    def __init__(self, path: Path):
        from redditess.classifier import load_judge

        self.judge = load_judge(path)

    def score(self, prompts: list[str], responses: list[str]) -> np.ndarray:
        return self.judge.score(prompts, responses)


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
    return ClassifierJudge(Path(path))


def touch_ledger(path: Path) -> None:
    """A judge other than ``llm`` writes no answers, but DVC expects its ledger output to exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
