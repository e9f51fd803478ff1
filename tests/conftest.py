"""Shared fixtures: the repository root, the shared real data (skipped when absent), a scratch
git+DVC repository holding a copy of the pipeline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("REDDITESS_SHARED_DATA", ROOT.parent / "shared" / "data"))  # env: worktrees elsewhere
PIPELINE_FILES = [".gitignore", "dvc.yaml", "params.yaml", "stages", "src", "pyproject.toml", "takedown.txt", "prompts", "human",
                  "dumps", "published_ids.tsv", "accelerate_configs"]


# Property tests check behaviour, not speed: no deadline and no "too slow" health check, so a
# loaded 2-core machine cannot fail them (speed targets live in benchmarks/).
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("redditess", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("redditess")

os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "red-mhs").is_dir():
        pytest.skip(f"real Reddit sample data not found at {SHARED_DATA}")
    return SHARED_DATA


def copy_pipeline(dest: Path) -> Path:
    """Copy the pipeline (not its outputs) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PIPELINE_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    # The documented defaults, whichever profile this checkout has active (`redditess profile`).
    from redditess.profiles import apply_profile

    apply_profile("default", dest / "params.yaml")
    return dest


def stage_env(repo: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(repo / "src")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


def run_stage(repo: Path, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python stages/<name>.py`` inside ``repo`` with the copied library on the path."""
    proc = subprocess.run([sys.executable, f"stages/{name}.py", *args], cwd=repo, env=stage_env(repo),
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"stage {name} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def output_text(repo: Path) -> str:
    """Everything the stages wrote under data/, reports/ and metrics/, as text (Parquet decoded)."""
    import pyarrow.parquet as pq

    parts = []
    for path in sorted(p for d in ("data", "reports", "metrics") for p in (repo / d).rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            parts.append(pq.read_table(path).to_pandas().to_json(force_ascii=False))
        else:
            parts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(parts)


def write_params(repo: Path, overlay: dict) -> None:
    import dataclasses

    import yaml

    from redditess.config import Params, deep_merge

    base = dataclasses.asdict(Params())  # the documented defaults, whichever profile this checkout has active
    (repo / "params.yaml").write_text(yaml.safe_dump(deep_merge(base, overlay), sort_keys=False))


# A configuration small enough for the whole model pipeline to run in a couple of minutes on CPU:
# one replicate of the model stages (tests/test_pipeline.py runs two).
TINY = {
    "seeds": [0],
    "collect": {"demo": {"n_threads": 80}},
    "agreement": {"bootstrap": 50},
    "classifier": {"max_train_examples": 48, "epochs": 1, "batch_size": 8, "max_length": 64},
    "sft": {"vocab_size": 400, "n_embd": 64, "n_layer": 2, "n_head": 2, "max_prompt_tokens": 48,
            "max_response_tokens": 24, "pretrain_epochs": 1, "epochs": 1},
    "reward_model": {"epochs": 1, "max_pairs_per_post": 2},
    "ppo": {"total_episodes": 32, "batch_size": 8, "num_ppo_epochs": 1, "response_length": 16, "value_warmup_updates": 1},
    "rloo": {"batch_size": 8, "num_generations": 4, "max_completion_length": 16},
    "dpo": {"epochs": 1},
    "generate": {"max_posts": 12, "max_new_tokens": 16},
    "evaluate": {"bootstrap": 100},
    "overopt": {"posts": 8, "probes": 2},
}


@pytest.fixture(scope="session")
def tiny_data_repo(tmp_path_factory) -> Path:
    """TINY's data stages (collect .. split) run once, through dvc, for tests of the model stages;
    copy it (``shutil.copytree``) before running anything in it."""
    repo = copy_pipeline(tmp_path_factory.mktemp("tiny-data") / "repo")
    write_params(repo, TINY)
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q", "--no-scm"], ["dvc", "repro", "-q", "split"]):
        proc = subprocess.run(cmd, cwd=repo, env=stage_env(repo), capture_output=True, text=True)
        assert proc.returncode == 0, f"{cmd}: {proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return repo
