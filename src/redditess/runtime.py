"""What every stage shares at start-up: logging, one-line errors for bad input, seeding."""

from __future__ import annotations

import functools
import logging
import os
import random
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from redditess.config import ParamsError


class InputError(ValueError):
    """Bad input the user can fix (a file, key, line or environment variable is named)."""


def derive_seed(seed: int, purpose: str) -> int:
    """A stable 31-bit seed for one purpose, derived from the one seed in params.yaml."""
    import hashlib

    digest = hashlib.sha256(f"{seed}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (when loaded) torch; make torch pick deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    if "torch" in sys.modules:
        import torch

        # cuBLAS is deterministic only with a fixed workspace, which must be set before CUDA starts.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)


SCRATCH_ROOT = Path(".redditess-tmp")
"""Scratch space of running stages, inside the workspace (git-, DVC- and Docker-ignored): raw records
and trainer folders never land in the system temp folder, where a killed run would leave them."""


def scratch_dir() -> Path:
    """This stage run's scratch folder (created; removed when the stage ends, and at its next start
    if a kill left it behind). Outside a stage: a folder for this process under the same root."""
    path = Path(os.environ.get("REDDITESS_SCRATCH") or SCRATCH_ROOT / f"pid-{os.getpid()}")
    path.mkdir(parents=True, exist_ok=True)
    return path


def stage(fn: Callable[[], None]) -> Callable[[], None]:
    """Run a stage's ``main``: configure logging, a scratch folder cleaned before and after, and
    turn bad input into one clear line + exit 2."""

    @functools.wraps(fn)
    def wrapper() -> None:
        # The default profile never touches a model hub; the paper profile sets HF_HUB_OFFLINE=0.
        for var, value in (("HF_HUB_OFFLINE", "1"), ("HF_DATASETS_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"),
                           ("TOKENIZERS_PARALLELISM", "false"), ("TRL_EXPERIMENTAL_SILENCE", "1"),
                           ("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")):
            os.environ.setdefault(var, value)
        logging.basicConfig(
            level=os.environ.get("REDDITESS_LOG", "INFO"),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        for noisy in ("httpx", "httpx2", "urllib3", "filelock", "matplotlib"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join([Path(sys.argv[0]).stem or fn.__name__, *sys.argv[1:]]))
        scratch = SCRATCH_ROOT / name
        shutil.rmtree(scratch, ignore_errors=True)  # what a killed run of this stage left behind
        os.environ["REDDITESS_SCRATCH"] = str(scratch)
        try:
            fn()
        except (ParamsError, InputError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            os.environ.pop("REDDITESS_SCRATCH", None)

    return wrapper
