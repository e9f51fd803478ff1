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
    """Write a JSON object of numbers, nesting allowed (the contract of ``metrics/*.json``), with the
    provenance block of the params it was computed under (``redditess.provenance``)."""
    from redditess import provenance

    def check(obj: dict, prefix: str) -> None:
        for key, value in obj.items():
            if isinstance(value, dict):
                check(value, f"{prefix}{key}.")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) and value is not None:
                raise TypeError(f"metric {prefix}{key!r} in {path} is not a number: {value!r}")

    metrics = dict(metrics)
    block = metrics.pop(provenance.KEY, None) or provenance.current()
    check(metrics, "")
    if block is not None:
        metrics[provenance.KEY] = block
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


# --------------------------------------------------------------------------- data/raw
# collect writes its records as Parquet (zstd) with this fixed schema: one column per field
# ``privacy.KEEP_FIELDS`` keeps, so a missing field and a null read the same (every reader uses
# ``rec.get``). Pushshift's ``edited`` is ``false`` or an edit time: stored as a float (0.0 for
# false), which keeps both its truth value and its null-ness. Rows are written in fixed-size row
# groups, without statistics or schema metadata, so the bytes depend only on the rows and the
# pinned pyarrow.
RAW_ROW_GROUP = 16384
_STR, _INT, _FLOAT, _BOOL = pa.string(), pa.int64(), pa.float64(), pa.bool_()
RAW_SCHEMA = pa.schema([
    ("id", _STR), ("name", _STR), ("link_id", _STR), ("parent_id", _STR), ("subreddit", _STR),
    ("subreddit_id", _STR), ("author", _STR), ("title", _STR), ("selftext", _STR), ("body", _STR),
    ("created_utc", _INT), ("retrieved_on", _FLOAT), ("score", _INT), ("ups", _INT), ("downs", _INT),
    ("edited", _FLOAT), ("is_self", _BOOL), ("num_comments", _INT), ("over_18", _BOOL), ("stickied", _BOOL),
    ("distinguished", _STR), ("is_submitter", _BOOL), ("controversiality", _INT), ("gilded", _INT),
    ("score_hidden", _BOOL), ("archived", _BOOL), ("link_flair_text", _STR),
])
TRUTH_SCHEMA = pa.schema([("comment_id", _STR), ("post_id", _STR), ("kind", _STR),
                          ("dimensions", pa.list_(_STR)), ("effective", _BOOL), ("need", _STR), ("topic", _STR)])
_CASTS = {pa.types.is_string: str, pa.types.is_int64: int, pa.types.is_float64: float, pa.types.is_boolean: bool}


class RawWriter:
    """Write records (dicts) to a deterministic Parquet file in row groups of ``RAW_ROW_GROUP``,
    streaming: at most one row group is held. Use as a context manager on a path of
    :func:`atomic_path`'s temporary folder."""

    def __init__(self, path: str | Path, schema: pa.Schema = RAW_SCHEMA):
        self.path, self.schema, self.rows, self.n = Path(path), schema, [], 0
        self.casts = {f.name: next((c for test, c in _CASTS.items() if test(f.type)), None) for f in schema}
        self.writer = pq.ParquetWriter(path, schema, compression="zstd", write_statistics=False)

    def write(self, record: dict) -> None:
        row = {}
        for key, value in record.items():
            if key not in self.casts:
                raise InputError(f"{self.path.name}: record {record.get('id')!r} has field {key!r} outside the raw schema")
            cast = self.casts[key]
            if value is None or cast is None:  # list columns (truth) go as they are
                row[key] = value
                continue
            try:
                row[key] = cast(value)
            except (TypeError, ValueError):
                raise InputError(f"{self.path.name}: record {record.get('id')!r}: field {key!r} = {value!r} "
                                 f"is not a {self.schema.field(key).type}") from None
        self.rows.append(row)
        if len(self.rows) >= RAW_ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self.rows:
            self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema), row_group_size=RAW_ROW_GROUP)
            self.n += len(self.rows)
            self.rows = []

    def __enter__(self) -> RawWriter:
        return self

    def __exit__(self, *exc) -> None:
        self._flush()
        self.writer.close()


def iter_raw(path: str | Path, columns: list[str] | None = None) -> Iterator[dict]:
    """The records of a ``data/raw`` Parquet file, one row group at a time, as dicts without their
    null fields (the shape collect read them in)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing (run the stage that produces it: dvc repro collect)")
    pf = pq.ParquetFile(path)
    for i in range(pf.num_row_groups):
        for row in pf.read_row_group(i, columns=columns, use_threads=False).to_pylist():
            yield {k: v for k, v in row.items() if v is not None}


def read_truth(path: str | Path = "data/raw/truth.parquet") -> pd.DataFrame:
    """The demo simulator's hidden truth that collect writes next to the records: one row per
    comment (``comment_id, post_id, kind, dimensions, effective, need, topic``; ``effective`` is
    null for bots and spam: ``redditess.sources.demo``); empty, with those columns, for real sources or when the file is absent."""
    path = Path(path)
    if not path.exists():
        return TRUTH_SCHEMA.empty_table().to_pandas()
    return pq.read_table(path, schema=TRUTH_SCHEMA).to_pandas()
