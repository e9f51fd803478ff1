"""Taken-down content outside the pipeline: annotation exports, human sheets, the DVC cache and
directory remotes (``redditess takedown apply`` / ``redditess takedown verify``).

The pipeline itself drops taken-down records at collect (:mod:`redditess.takedown`), and judge
stages prune their ledgers to the current units. What it cannot reach: CSV sheets exported for
annotators, old objects in the DVC cache and remote. :func:`apply_to_sheets` filters the sheets;
``dvc gc --workspace --cloud`` purges the old objects; :func:`verify` proves it, searching every
output, the cache and each directory remote for the removed ids and for the texts of any record
still found with them.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from redditess.sources.dump import strip_prefix
from redditess.takedown import removed_comments

ID_FIELDS = ("id", "name", "link_id", "parent_id", "post_id", "comment_id")
TEXT_FIELDS = ("title", "selftext", "body", "post_title", "post_body", "post_edit", "comment_body", "text", "reply", "post")
SNIPPET = 60  # leading characters of a removed text searched for; shorter texts are too common to search
OUTPUT_ROOTS = ("data", "metrics", "reports", "plots", "ledgers", "annotation", "human", "models", ".dvc/cache")
MAX_BYTES = 512 << 20


def removed_ids(takedown: set[str], raw: Path = Path("data/raw"), units: Path = Path("data/threads.parquet")) -> set[str]:
    """The listed ids and every comment under them, as far as the current ``data/raw`` and units
    know (run before ``dvc repro`` rebuilds them without the removed records)."""
    ids = set(takedown)
    rc = raw / "RC.parquet"
    if rc.exists():
        from redditess.io import iter_raw

        ids |= removed_comments(iter_raw(rc, ["id", "link_id", "parent_id"]), takedown)
    if units.exists():
        import pyarrow.parquet as pq

        table = pq.read_table(units, columns=["post_id", "comment_id"], use_threads=False).to_pylist()
        ids |= {r["comment_id"] for r in table if r["post_id"] in takedown}
    return ids


def apply_to_sheets(ids: set[str], folders: Iterable[Path] = (Path("annotation"), Path("human"))) -> dict[str, int]:
    """Drop the rows of removed units from every CSV under ``folders`` (annotation exports, human
    sheets) and rebuild an annotation form from its filtered sample; return rows dropped per file."""
    dropped: dict[str, int] = {}
    for folder in folders:
        for path in sorted(Path(folder).glob("**/*.csv")):
            with open(path, newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                header, rows = reader.fieldnames or [], list(reader)
            keep = [r for r in rows if not any(_bare(r.get(k)) in ids for k in ID_FIELDS)]
            if len(keep) == len(rows):
                continue
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
            writer.writeheader()
            writer.writerows(keep)
            from redditess.io import write_text

            write_text(path, buf.getvalue())
            dropped[str(path)] = len(rows) - len(keep)
            form = path.with_name("form.html")
            if path.name == "sample.csv" and form.exists():
                import pandas as pd

                from redditess.human import form_html

                write_text(form, form_html(pd.read_csv(path, dtype=str, keep_default_na=False)))
    return dropped


def _bare(value) -> str:
    return strip_prefix(str(value)) if value not in (None, "") else ""


@dataclass
class Verification:
    files: int = 0
    """Files searched."""
    hits: list[str] = field(default_factory=list)
    """``path: what was found`` for every file that still holds a removed id or text."""


def _records(path: Path, data: bytes) -> tuple[list[dict], str]:
    """The records of a data file (JSON lines, a JSON document, CSV or Parquet) and its text."""
    if data[:4] == b"PAR1":
        import pyarrow.parquet as pq

        # One thread: verify reads hundreds of small files, and pyarrow's pool was seen aborting the
        # process at exit ("terminate called without an active exception") after its report.
        rows = pq.read_table(io.BytesIO(data), use_threads=False).to_pylist()
        return rows, ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [], ""  # model weights and other binaries: nothing to read as text
    rows: list[dict] = []
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        for line in text.splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                rows = []
                break
            if isinstance(obj, dict):
                rows.append(obj)
        if not rows:
            try:
                obj = json.loads(text)
                rows = obj if isinstance(obj, list) else [obj]
            except ValueError:
                pass
    elif path.suffix == ".csv" or (text[:200].count(",") >= 2 and "\n" in text[:2000]):
        try:
            rows = list(csv.DictReader(io.StringIO(text)))
        except csv.Error:
            rows = []
    return [r for r in rows if isinstance(r, dict)], text


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _files(roots: Iterable[Path]) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def directory_remotes(repo: Path = Path(".")) -> list[Path]:
    """Local folders configured as DVC remotes (cloud remotes cannot be searched from here)."""
    try:
        from dvc.repo import Repo

        remotes = Repo(str(repo)).config.get("remote", {})
    except Exception:  # not a DVC repository: nothing configured  # noqa: BLE001
        return []
    out = []
    for cfg in remotes.values():
        url = str(cfg.get("url", ""))
        if "://" not in url:
            path = Path(url) if Path(url).is_absolute() else repo / ".dvc" / url
            if path.is_dir():
                out.append(path)
    return out


def verify(ids: set[str], roots: Iterable[Path]) -> Verification:
    """Search every file under ``roots`` for the removed ``ids`` (as records' ids, or as words in
    text) and for the texts of the records found with them (their first 60 characters)."""
    pattern = re.compile(r"(?<![A-Za-z0-9])(?:t[13]_)?(?:" + "|".join(sorted(map(re.escape, ids))) + r")(?![A-Za-z0-9])")
    res = Verification()
    snippets: set[str] = set()
    kept: set[str] = set()  # texts of records not taken down: a removed text equal to one of them is no evidence
    parsed: list[tuple[Path, list[dict], str]] = []
    for path in _files(roots):
        if path.stat().st_size > MAX_BYTES or path.suffix == ".dir":
            continue
        res.files += 1
        rows, text = _records(path, path.read_bytes())
        parsed.append((path, rows, text))
        found = False
        for row in rows:
            removed = any(_bare(row.get(k)) in ids for k in ID_FIELDS)
            found |= removed
            texts = {" ".join(t.split())[:SNIPPET] for k in TEXT_FIELDS for t in _strings(row.get(k))}
            (snippets if removed else kept).update(t for t in texts if len(t) >= SNIPPET)
        if found:
            res.hits.append(f"{path}: a record of a removed id")
        elif text and pattern.search(text):
            res.hits.append(f"{path}: a removed id ({pattern.search(text).group()})")
    snippets -= kept
    if snippets:
        for path, rows, text in parsed:
            if any(h.startswith(f"{path}:") for h in res.hits):
                continue
            # a record's text field holds a removed text when it starts with it; a document that is
            # not made of records (a report, a form) when it contains it anywhere
            starts = {" ".join(s.split())[:SNIPPET] for row in rows for s in _strings(row)}
            blob = " ".join(text.split()) if not rows else ""
            if starts & snippets or (blob and any(snip in blob for snip in snippets)):
                res.hits.append(f"{path}: the text of a removed record")
    return res
