"""Deterministic, atomic file output and the small readers every stage shares.

Every writer goes through :func:`atomic_path`: the content lands in a temporary sibling and is
renamed into place only when complete, so a killed stage never leaves a half file that looks done.
JSON is written with sorted keys; tables are sorted by the caller and written without an index.
"""

from __future__ import annotations

import contextlib
import glob
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from redditess.runtime import InputError


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    Works for files and directories (a model checkpoint written with ``save_pretrained``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):  # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    target = tmp / path.name
    try:
        yield target
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _clean(obj):
    """Make floats JSON-safe (NaN/inf -> None) so reports never hold invalid JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item"):  # numpy scalar
        return _clean(obj.item())
    return obj


def dumps(obj) -> str:
    return json.dumps(_clean(obj), sort_keys=True, ensure_ascii=False)


def write_json(path: str | Path, obj) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_clean(obj), sort_keys=True, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_metrics(path: str | Path, metrics: dict) -> None:
    """Write a flat JSON object of numbers (the contract of ``metrics/*.json``)."""
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) and value is not None:
            raise TypeError(f"metric {key!r} in {path} is not a number: {value!r}")
    write_json(path, metrics)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_jsonl(path: str | Path, records: Iterable[dict]) -> int:
    """Write records one JSON object per line (keys sorted); return how many."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(dumps(record) + "\n")
            n += 1
    return n


def read_jsonl(path: str | Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{lineno}: not valid JSON: {exc}") from None


def read_journal(path: str | Path) -> Iterator[dict]:
    """The entries of an append-only JSONL journal; a last line cut short by a kill is skipped
    (its work is simply done again), a missing journal is empty."""
    path = Path(path)
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            continue


def write_table(path: str | Path, df: pd.DataFrame, sort_by: list[str]) -> None:
    """Write ``df`` as Parquet, sorted by ``sort_by`` and without pandas' index.

    Pandas metadata is dropped so the bytes depend only on the data and the pinned pyarrow.
    """
    df = df.sort_values(sort_by, kind="mergesort").reset_index(drop=True)
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata(None)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=False)


def read_table(path: str | Path, required: Iterable[str] = ()) -> pd.DataFrame:
    """Read a Parquet table and check it has the ``required`` columns."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing (run the stage that produces it: dvc repro)")
    df = pq.read_table(path).to_pandas()
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing columns {missing}; has {list(df.columns)}")
    return df


def write_csv(path: str | Path, df: pd.DataFrame, sort_by: list[str]) -> None:
    """Write a small table (a DVC plot's data) as CSV, sorted, floats with fixed precision."""
    df = df.sort_values(sort_by, kind="mergesort") if len(df) else df
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g", lineterminator="\n")
