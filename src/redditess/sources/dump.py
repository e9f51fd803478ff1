"""Streaming reader of Pushshift / Arctic-Shift dump files (RS_* submissions, RC_* comments).

Files are NDJSON, plain or zstandard-compressed (the dumps use a 2 GiB window, so the decoder is
opened with ``max_window_size=2**31``) and read in 4 MiB blocks of whole lines. When subreddits are
configured, a compiled byte pattern on the ``"subreddit"`` field runs over each block and only the
lines it hits are cut out and parsed (with orjson); every other line (most of a monthly dump) is
counted as ``filtered_subreddit`` without being parsed.
Kept records go to an on-disk SQLite store keyed by id (the copy retrieved last wins; on a tie the
greater serialised record), so memory stays flat however large the files are, and records come back
sorted by id. Files are read ``workers`` at a time, each by its own process into a store of its own,
merged afterwards by the same rule: the result is the same for any worker count and file names.

Every line is accounted for: kept, filtered (subreddit / time window), superseded by a later copy
of the same id (``duplicate``), blank, ``null_id``, or malformed (named by file and line; fatal in
strict mode). A field of the wrong type (an integer author, a text score) makes a line malformed.
A corrupt or truncated .zst file is named with the compressed byte offset of the damage: the
records decoded before it are kept, the other files are read, and what could not be read is
reported (``damaged`` in the report; fatal in strict mode).
"""

from __future__ import annotations

import glob
import json
import logging
import queue
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import zstandard

from redditess.config import DumpConfig
from redditess.runtime import InputError

log = logging.getLogger(__name__)
CHUNK = 4 << 20
ZST_FEED = 64 << 10  # compressed bytes fed at a time: records decoded before a damaged spot are kept


class DumpError(InputError):
    """A dump line could not be read (strict mode) or no file matched."""


@dataclass
class DumpStats:
    lines: Counter = field(default_factory=Counter)
    """Per outcome: kept_submission, kept_comment, malformed, filtered_subreddit, filtered_time, ..."""
    malformed_examples: list[str] = field(default_factory=list)
    """``file:line: reason`` of the first malformed lines (all are counted)."""
    damaged: list[str] = field(default_factory=list)
    """One line per corrupt or truncated compressed file: where the damage is and what was lost."""


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
    """``submission`` for Pushshift monthly RS_* files and Arctic Shift per-subreddit
    ``<sub>_submissions.*`` files, ``comment`` for RC_* and ``<sub>_comments.*``, else None
    (decided per record)."""
    name = path.name.upper()
    stem = name.split(".", 1)[0]
    if name.startswith("RS_") or stem.endswith("_SUBMISSIONS"):
        return "submission"
    if name.startswith("RC_") or stem.endswith("_COMMENTS"):
        return "comment"
    return None


def _prefetched(read: Callable[[], bytes]) -> Iterator[bytes]:
    """Yield ``read()`` results until empty, reading the next one in a thread meanwhile
    (zstandard releases the GIL, so decompression overlaps with scanning on a second core)."""
    q: queue.Queue = queue.Queue(maxsize=2)

    def work() -> None:
        try:
            while chunk := read():
                q.put(chunk)
            q.put(b"")
        except BaseException as exc:  # handed to the consumer, which re-raises it
            q.put(exc)

    threading.Thread(target=work, daemon=True).start()
    while True:
        item = q.get()
        if isinstance(item, BaseException):
            raise item
        if not item:
            return
        yield item


class DamagedFile(Exception):
    """A compressed file could not be decoded past some point (raised after its good part)."""


def _zst_reader(raw, path: Path) -> Callable[[int], bytes]:
    """A ``read(n)`` over the decompressed content of ``raw`` that, unlike zstandard's stream reader,
    notices a truncated last frame and names the compressed byte offset of any damage. Input is
    fed in small pieces, so everything decoded before the damage is returned first; then
    :class:`DamagedFile` is raised. Concatenated frames (pzstd) are read one after the other."""
    dctx = zstandard.ZstdDecompressor(max_window_size=2**31)
    state = {"obj": dctx.decompressobj(), "offset": 0, "done": False}

    def pieces() -> Iterator[bytes]:
        obj = state["obj"]
        in_frame = False
        while data := raw.read(ZST_FEED):
            while data:
                try:
                    out = obj.decompress(data)
                except zstandard.ZstdError as exc:
                    raise DamagedFile(f"corrupt zstd data at compressed byte {state['offset']} "
                                      f"({str(exc).splitlines()[0]})") from None
                in_frame = True
                if out:
                    yield out
                if obj.eof:  # a frame ended: anything after it starts the next frame
                    rest = obj.unused_data
                    state["offset"] += len(data) - len(rest)
                    data, obj, in_frame = rest, dctx.decompressobj(), False
                else:
                    state["offset"] += len(data)
                    data = b""
        if in_frame:
            raise DamagedFile(f"truncated zstd data: the last frame ends early at compressed byte "
                              f"{state['offset']} (file size)")

    it = pieces()

    def read(n: int) -> bytes:
        """At least ``n`` bytes (a little more: no copy to cut them), fewer only at the end."""
        buf, size = [], 0
        while size < n and not state["done"]:
            try:
                piece = next(it)
            except StopIteration:
                state["done"] = True
                break
            except DamagedFile as exc:  # hand out what was decoded first, then raise
                state["done"], state["error"] = True, exc
                break
            buf.append(piece)
            size += len(piece)
        data = buf[0] if len(buf) == 1 else b"".join(buf)
        if not data and state.get("error"):
            raise state["error"]
        return data

    return read


def iter_blocks(path: Path, stats: DumpStats | None = None, strict: bool = False,
                label: str | None = None) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(buf, start, end)``: ``buf[start:end]`` is a run of whole lines, each ending in a
    newline, of a plain or .zst file, streaming. Offsets instead of slices avoid copying 4 MiB blocks.
    A damaged .zst file ends early: recorded in ``stats.damaged`` (raised in strict mode), with its
    last, partial line counted as ``lost_partial_line``. ``label`` names the file in ``stats`` (default: its path)."""
    with open(path, "rb") as raw:
        reader = _zst_reader(raw, path) if path.suffix == ".zst" else raw.read
        tail_box = [b""]
        try:
            yield from _whole_lines(reader, tail_box)
        except DamagedFile as exc:
            if strict or stats is None:
                raise DumpError(f"{path}: {exc}") from None
            partial = tail_box[0]
            stats.lines["lost_partial_line"] += 1 if partial else 0
            what = (f"{exc}; the records before it are kept" + ("; 1 partial line lost" if partial else "")
                    + "; the rest of the file is unreadable")
            stats.damaged.append(f"{label or path}: {what}")
            log.warning("%s: %s", path, what)
            return
        tail = tail_box[0]
        if tail:
            yield tail + b"\n", 0, len(tail) + 1


def _whole_lines(read: Callable[[int], bytes], tail_box: list[bytes]) -> Iterator[tuple[bytes, int, int]]:
    """The block splitter of :func:`iter_blocks`; the unfinished last line is left in ``tail_box``."""
    tail = b""
    for chunk in _prefetched(lambda: read(CHUNK)):
        first = chunk.find(b"\n")
        if first < 0:  # a line longer than a chunk
            tail += chunk
            tail_box[0] = tail
            continue
        if tail:
            piece = tail + chunk[: first + 1]
            yield piece, 0, len(piece)
            start = first + 1
        else:
            start = 0
        end = chunk.rfind(b"\n") + 1
        if end > start:
            yield chunk, start, end
        tail = chunk[end:]
        tail_box[0] = tail


def candidate_lines(path: Path, prefilter: re.Pattern[bytes] | None, stats: DumpStats,
                    strict: bool = False, label: str | None = None) -> Iterator[tuple[bytes, Callable[[], int]]]:
    """Yield (line, its line number on demand) for the lines worth parsing.

    Without a pre-filter that is every line. With one, the pattern runs over whole blocks in C and
    only the lines it hits are cut out; the others are counted as ``filtered_subreddit`` unparsed.
    Line numbers are only computed when asked for (a malformed line), which keeps the hot loop lean.
    """
    lineno = 0
    for buf, start, end in iter_blocks(path, stats, strict, label):
        if prefilter is None:
            for i, line in enumerate(buf[start:end - 1].split(b"\n"), lineno + 1):
                yield line, (lambda i=i: i)
            lineno += buf.count(b"\n", start, end)
            continue
        pos, hits = start, 0
        for m in prefilter.finditer(buf, start, end):
            line_start = buf.rfind(b"\n", start, m.start()) + 1 or start
            if line_start < pos:  # a second hit on a line already taken
                continue
            line_end = buf.find(b"\n", m.end(), end)
            hits += 1
            yield buf[line_start:line_end], (lambda b=buf, s=start, ls=line_start, n=lineno: n + b.count(b"\n", s, ls) + 1)
            pos = line_end + 1
        n_lines = buf.count(b"\n", start, end)
        stats.lines["filtered_subreddit"] += n_lines - hits
        lineno += n_lines


def strip_prefix(thing_id: str) -> str:
    """``t1_abc`` / ``t3_abc`` -> ``abc``; bare ids are returned unchanged."""
    if len(thing_id) > 3 and thing_id[0] == "t" and thing_id[2] == "_" and thing_id[1].isdigit():
        return thing_id[3:]
    return thing_id


# The type each field read from a record must have (None allowed); a number where text is expected,
# or text where a number is, makes the line malformed instead of crashing a later stage.
_TEXT, _NUM = (str,), (int, float)
FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str, int), "link_id": (str,), "parent_id": (str,), "author": _TEXT, "subreddit": _TEXT, "title": _TEXT,
    "selftext": _TEXT, "body": _TEXT, "link_flair_text": _TEXT, "distinguished": _TEXT, "subreddit_id": _TEXT,
    "score": (int,), "ups": (int,), "downs": (int,), "num_comments": (int,), "controversiality": (int,),
    "gilded": (int,), "created_utc": (int, float, str), "retrieved_on": _NUM, "retrieved_utc": _NUM,
    "edited": (bool, int, float), "is_self": (bool,), "over_18": (bool,), "stickied": (bool,),
    "is_submitter": (bool,), "score_hidden": (bool,), "archived": (bool,),
}


def check_types(record: dict) -> None:
    """Raise TypeError naming the first field whose value has the wrong type."""
    for key, types in FIELD_TYPES.items():
        value = record.get(key)
        if value is None:
            continue
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise TypeError(f"field {key!r} must be {'/'.join(t.__name__ for t in types)}, got {type(value).__name__}")


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


def subreddit_pattern(subreddits: list[str]) -> re.Pattern[bytes] | None:
    """A byte pattern matching the ``"subreddit": "<name>"`` field of wanted records, or None."""
    if not subreddits:
        return None
    names = b"|".join(re.escape(s.encode()) for s in sorted(subreddits))
    return re.compile(rb'"subreddit"\s*:\s*"(?:' + names + rb')"', re.IGNORECASE)


class RecordStore:
    """On-disk, id-keyed store of kept records; iterates them sorted by id.

    Of several copies of one id the one retrieved last wins; copies retrieved at the same time (or
    without a retrieval time) are ordered by their serialised bytes, so which copy wins depends on
    the copies alone, never on the order files or lines are read in (file names, worker count).
    """

    UPSERT = ("ON CONFLICT(kind, id) DO UPDATE SET retrieved = excluded.retrieved, link = excluded.link, json = excluded.json "
              "WHERE excluded.retrieved > r.retrieved OR (excluded.retrieved = r.retrieved AND excluded.json > r.json)")

    def __init__(self, path: Path):
        self.path = Path(path)
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("CREATE TABLE IF NOT EXISTS r (kind TEXT, id TEXT, retrieved INTEGER, link TEXT, json BLOB, "
                        "PRIMARY KEY (kind, id))")
        self.puts = 0

    def put(self, kind: str, rec: dict) -> None:
        """Store ``rec`` (kept if it wins over an earlier copy of its id)."""
        retrieved = int(rec.get("retrieved_on") or rec.get("retrieved_utc") or 0)
        self.db.execute(f"INSERT INTO r VALUES (?, ?, ?, ?, ?) {self.UPSERT}",
                        (kind, rec["id"], retrieved, rec.get("link_id"), orjson.dumps(rec)))
        self.puts += 1

    def merge(self, other: Path) -> None:
        """Take in the records of another store's file (the same rule picks among copies)."""
        self.db.commit()
        self.db.execute("ATTACH DATABASE ? AS w", (str(other),))
        self.db.execute(f"INSERT INTO r SELECT kind, id, retrieved, link, json FROM w.r WHERE true {self.UPSERT}")
        self.db.commit()
        self.db.execute("DETACH DATABASE w")

    def count(self, kind: str) -> int:
        return self.db.execute("SELECT COUNT(*) FROM r WHERE kind=?", (kind,)).fetchone()[0]

    def records(self, kind: str) -> Iterator[dict]:
        for (blob,) in self.db.execute("SELECT json FROM r WHERE kind=? ORDER BY id", (kind,)):
            yield orjson.loads(blob)

    def threads(self) -> Iterator[list[dict]]:
        """The comments grouped by thread (``link_id``), each group in id order: one thread in memory."""
        self.db.execute("CREATE INDEX IF NOT EXISTS r_link ON r (kind, link, id)")
        group: list[dict] = []
        current = None
        for link, blob in self.db.execute("SELECT link, json FROM r WHERE kind='comment' ORDER BY link, id"):
            if group and link != current:
                yield group
                group = []
            current = link
            group.append(orjson.loads(blob))
        if group:
            yield group

    def close(self) -> None:
        self.db.close()


@dataclass
class FileResult:
    """What one worker read from one file: its line accounting and how many records it stored."""
    lines: Counter
    stored: int
    malformed: list[tuple[int, str]]
    """``(line, reason)`` of its first malformed lines."""
    damaged: list[str]


MAX_EXAMPLES = 20


def read_file(path: Path, label: str, cfg: DumpConfig, strict: bool, db: Path) -> FileResult:
    """Read one dump file into a store of its own at ``db`` (a worker's job). Messages on stderr
    name the file by its path; ``label`` names it in the returned accounting."""
    stats = DumpStats()
    store = RecordStore(db)
    malformed: list[tuple[int, str]] = []
    wanted = {s.lower() for s in cfg.subreddits}
    prefilter = subreddit_pattern(cfg.subreddits)
    file_kind = kind_of(path)
    for line, line_number in candidate_lines(path, prefilter, stats, strict, label):
        if not line.strip():
            stats.lines["blank"] += 1
            continue
        try:
            record = orjson.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            kind = file_kind or ("submission" if "title" in record else "comment")
            if record.get("id", "") is None:
                stats.lines["null_id"] += 1  # counted, never merged with other id-less records
                continue
            check_types(record)
            rec = normalize(record, kind)
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            reason = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0][:120]
            number = line_number()
            where = f"{path}:{number}: malformed record: {reason}"
            if strict:
                raise DumpError(where) from None
            stats.lines["malformed"] += 1
            if len(malformed) < MAX_EXAMPLES:
                malformed.append((number, f"malformed record: {reason}"))
            log.warning("%s", where)
            continue
        if wanted and str(rec.get("subreddit", "")).lower() not in wanted:
            stats.lines["filtered_subreddit"] += 1
            continue
        created = rec.get("created_utc")
        if created is not None and (
            (cfg.start_utc is not None and created < cfg.start_utc) or (cfg.end_utc is not None and created >= cfg.end_utc)
        ):
            stats.lines["filtered_time"] += 1
            continue
        store.put(kind, rec)
    store.db.commit()
    store.close()
    return FileResult(stats.lines, store.puts, malformed, stats.damaged)


def _read_file_job(args: tuple) -> FileResult:
    import os

    # a spawned worker starts with logging unconfigured: the stage's format, as in redditess.runtime.stage
    logging.basicConfig(level=os.environ.get("REDDITESS_LOG", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return read_file(*args)


def read_dumps(cfg: DumpConfig, strict: bool, store: RecordStore, root: Path = Path("."), workers: int = 1,
               labels: dict[str, str] | None = None) -> DumpStats:
    """Stream every configured dump file into ``store``; return the line accounting.

    Files are read ``workers`` at a time, each by its own process into a store of its own next to
    ``store``; those are merged into ``store`` afterwards. Nothing in the result depends on the
    worker count or on the order files finish in: counts are sums, copies of an id are chosen by
    content (:class:`RecordStore`), and the report lists files by ``labels`` (path -> name used in
    the report; default the path), sorted, with malformed examples ordered by (file, line).
    """
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing

    if workers < 1:
        raise InputError(f"collect.workers must be >= 1, got {workers}")
    paths = resolve_paths(cfg.paths, root)
    labels = labels or {}
    jobs = [(p, labels.get(str(p), str(p)), cfg, strict, store.path.with_name(f"{store.path.name}.part{i}"))
            for i, p in enumerate(paths)]
    for job in jobs:
        job[-1].unlink(missing_ok=True)
    if workers == 1 or len(jobs) == 1:
        results = [read_file(*job) for job in jobs]
    else:
        # spawn, not fork: the parent may hold threads and an open SQLite connection
        with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_read_file_job, jobs))
    stats = DumpStats()
    examples: list[tuple[str, int, str]] = []
    stored = 0
    for job, result in zip(jobs, results):
        store.merge(job[-1])
        job[-1].unlink()
        stats.lines.update(result.lines)
        stored += result.stored
        examples += [(job[1], number, reason) for number, reason in result.malformed]
        stats.damaged += result.damaged
    stats.malformed_examples = [f"{label}:{number}: {reason}" for label, number, reason in sorted(examples)[:MAX_EXAMPLES]]
    stats.damaged.sort()
    stats.lines["kept_submission"] = store.count("submission")
    stats.lines["kept_comment"] = store.count("comment")
    if stored > stats.lines["kept_submission"] + stats.lines["kept_comment"]:
        stats.lines["duplicate"] = stored - stats.lines["kept_submission"] - stats.lines["kept_comment"]
    return stats


def naive_read(path: Path, subreddits: set[str]) -> Iterator[dict]:
    """The baseline the benchmark compares against: decode text, ``json.loads`` every line, filter."""
    import io

    with open(path, "rb") as raw:
        stream = zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(raw) if path.suffix == ".zst" else raw
        for line in io.TextIOWrapper(stream, encoding="utf-8"):
            rec = json.loads(line)
            if str(rec.get("subreddit", "")).lower() in subreddits:
                yield rec
