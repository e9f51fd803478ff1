"""Streaming reader of Pushshift / Arctic-Shift dump files (RS_* submissions, RC_* comments).

Files are NDJSON, plain or zstandard-compressed (the dumps use a 2 GiB window, so the decoder is
opened with ``max_window_size=2**31``). Lines are decoded one at a time: memory does not grow with
the file. Every line is accounted for: kept, filtered (subreddit / time window), a duplicate id, or
malformed (named by file and line; fatal in strict mode).
"""

from __future__ import annotations

import glob
import io
import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from redditess.config import DumpConfig
from redditess.runtime import InputError

log = logging.getLogger(__name__)


class DumpError(InputError):
    """A dump line could not be read (strict mode) or no file matched."""


@dataclass
class DumpStats:
    lines: Counter = field(default_factory=Counter)
    """Per outcome: kept_submission, kept_comment, malformed, filtered_subreddit, filtered_time, ..."""
    malformed_examples: list[str] = field(default_factory=list)
    """``file:line: reason`` of the first malformed lines (all are counted)."""


def resolve_paths(patterns: list[str], root: Path = Path(".")) -> list[Path]:
    """Expand the configured globs (relative to ``root``) into a sorted, de-duplicated file list."""
    files: set[Path] = set()
    for pattern in patterns:
        full = pattern if Path(pattern).is_absolute() else str(root / pattern)
        matched = [Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file()]
        if not matched:
            raise DumpError(f"collect.dump.paths: pattern {pattern!r} matches no file")
        files.update(matched)
    return sorted(files)


def kind_of(path: Path) -> str | None:
    """``submission`` for RS_* files, ``comment`` for RC_* files, else None (decided per record)."""
    name = path.name.upper()
    if name.startswith("RS_"):
        return "submission"
    if name.startswith("RC_"):
        return "comment"
    return None


def open_lines(path: Path) -> Iterator[str]:
    """Yield the decoded text lines of a plain or .zst NDJSON file, streaming."""
    if path.suffix == ".zst":
        with open(path, "rb") as raw:
            reader = zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(raw)
            yield from io.TextIOWrapper(reader, encoding="utf-8", errors="replace", newline="\n")
    else:
        with open(path, encoding="utf-8", errors="replace", newline="\n") as fh:
            yield from fh


def strip_prefix(thing_id: str) -> str:
    """``t1_abc`` / ``t3_abc`` -> ``abc``; bare ids are returned unchanged."""
    if len(thing_id) > 3 and thing_id[0] == "t" and thing_id[2] == "_" and thing_id[1].isdigit():
        return thing_id[3:]
    return thing_id


def normalize(record: dict, kind: str) -> dict:
    """Bring a raw record to the project's Pushshift shape (bare ``id``, prefixed link/parent ids)."""
    rec = dict(record)
    rec["id"] = strip_prefix(str(rec["id"]))
    prefix = "t3_" if kind == "submission" else "t1_"
    rec["name"] = prefix + rec["id"]
    if rec.get("created_utc") is not None:
        rec["created_utc"] = int(float(rec["created_utc"]))
    if kind == "comment":
        for key in ("link_id", "parent_id"):
            value = rec.get(key)
            if value is None:
                raise KeyError(key)
            value = str(value)
            if not value.startswith(("t1_", "t3_")):
                # A bare link id is always a post; a bare parent equal to the link is the post too.
                value = ("t3_" if key == "link_id" or value == strip_prefix(str(rec["link_id"])) else "t1_") + value
            rec[key] = value
    return rec


def read_dumps(cfg: DumpConfig, strict: bool, root: Path = Path(".")) -> tuple[list[dict], list[dict], DumpStats]:
    """Read every configured dump file; return (submissions, comments, stats).

    When an id occurs twice (overlapping dumps), the copy retrieved last wins; the other is
    counted as ``duplicate``.
    """
    stats = DumpStats()
    wanted = {s.lower() for s in cfg.subreddits}
    kept: dict[str, dict[str, dict]] = {"submission": {}, "comment": {}}
    for path in resolve_paths(cfg.paths, root):
        file_kind = kind_of(path)
        for lineno, line in enumerate(open_lines(path), 1):
            if not line.strip():
                stats.lines["blank"] += 1
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
                kind = file_kind or ("submission" if "title" in record else "comment")
                rec = normalize(record, kind)
            except (ValueError, KeyError, TypeError, OverflowError) as exc:
                reason = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0][:120]
                where = f"{path}:{lineno}: malformed record: {reason}"
                if strict:
                    raise DumpError(where) from None
                stats.lines["malformed"] += 1
                if len(stats.malformed_examples) < 20:
                    stats.malformed_examples.append(where)
                log.warning("%s", where)
                continue
            if wanted and str(rec.get("subreddit", "")).lower() not in wanted:
                stats.lines["filtered_subreddit"] += 1
                continue
            created = rec.get("created_utc")
            if created is not None and (
                (cfg.start_utc is not None and created < cfg.start_utc)
                or (cfg.end_utc is not None and created >= cfg.end_utc)
            ):
                stats.lines["filtered_time"] += 1
                continue
            previous = kept[kind].get(rec["id"])
            if previous is not None:
                stats.lines["duplicate"] += 1
                if (previous.get("retrieved_on") or 0) > (rec.get("retrieved_on") or 0):
                    continue
            kept[kind][rec["id"]] = rec
    stats.lines["kept_submission"] = len(kept["submission"])
    stats.lines["kept_comment"] = len(kept["comment"])
    return list(kept["submission"].values()), list(kept["comment"].values()), stats
