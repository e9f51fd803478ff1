"""From raw records to the study's units: post -> top-level comment -> the OP's replies.

One unit per top-level comment of a kept post, carrying the post, the comment, its score, the OP's
replies anywhere in that comment's subtree (direct replies and deeper ones counted apart), and the
post's general feedback (the OP's "EDIT:"/"Update:" text and the OP's own top-level comments).

Every input record is accounted for exactly once in :class:`Attrition`: kept as a post or unit,
used as an OP reply or general feedback, or dropped with a named reason; the identity
``records_in == kept + used + sum(dropped)`` is checked before anything is written.

Out of core (:func:`build_units_out_of_core`, what the stage runs): DuckDB sorts the comments by
(post, id) under a memory limit, spilling to disk past it, and streams them back one batch at a
time; they are merged with the posts (also sorted by id) thread by thread, and units and posts go
to Parquet in fixed-size row groups as they are made. Memory then holds one thread, one batch and
one row group, whatever the number of records. The units and posts are those :func:`build_units`
makes in memory from the same records (same rule, same order, same schema).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from redditess.config import FilterConfig
from redditess.privacy import DELETED

EDIT_LINE = re.compile(
    r"^[\s>*_#]*(?:edit|update|upd|eta)\b\s*\d*\s*(?:\([^)]*\))?\s*[:.\-]\s*[*_]*\s*(?P<text>.*)$",
    re.IGNORECASE | re.MULTILINE,
)
BOT_BODY = re.compile(r"\bI(?: am|'m) a bot\b|\bbeep boop\b|this action was performed automatically", re.I)
SPAM = re.compile(
    r"\b(?:promo|discount) code\b|\buse code [A-Z0-9]{3,}|\d+% off\b|\bfree shipping\b"
    r"|\bclick the link in my (?:profile|bio)\b|\bearn money from home\b|\bbuy (?:our|my)\b"
    r"|\bcheck out my (?:app|channel|podcast|store|shop)\b",
    re.I,
)
# A dissertation or thesis alone is an ordinary worry of a support post; it marks recruitment only
# next to what a study asks of readers (a survey, participants, an interview) in the same sentence.
SURVEY = re.compile(
    r"\bsurvey\b|\bquestionnaire\b|\bparticipants? (?:needed|wanted)\b|\brecruiting\b"
    r"|\[academic\]|\bresearch study\b"
    r"|\b(?:dissertation|thesis)\b[^.?!\n]*\b(?:participants?|respondents?|interview(?:ee)?s?|take part)\b"
    r"|\bhelp me(?: out)? with my (?:dissertation|thesis|research)\b|\btake \d+ minutes out of your\b",
    re.I,
)


@dataclass
class Attrition:
    records_in: int = 0
    kept: Counter = field(default_factory=Counter)
    used: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)

    def finish(self) -> Attrition:
        """Drop the zero counts and check the identity; return self."""
        self.dropped = Counter({k: v for k, v in self.dropped.items() if v})
        self.used = Counter({k: v for k, v in self.used.items() if v})
        self.check()
        return self

    def check(self) -> None:
        total = sum(self.kept.values()) + sum(self.used.values()) + sum(self.dropped.values())
        if total != self.records_in:
            raise AssertionError(f"attrition does not add up: {self.records_in} in, {total} accounted for")

    def as_metrics(self) -> dict[str, int]:
        out = {"records_in": self.records_in}
        out.update({f"kept_{k}": v for k, v in self.kept.items()})
        out.update({f"used_{k}": v for k, v in self.used.items()})
        out.update({f"dropped_{k}": v for k, v in self.dropped.items()})
        return dict(sorted(out.items()))

    def markdown(self) -> str:
        rows = [("records in", self.records_in, "")]
        rows += [(f"kept: {k}", v, "") for k, v in sorted(self.kept.items())]
        rows += [(f"used: {k}", v, "") for k, v in sorted(self.used.items())]
        rows += [(f"dropped: {k}", v, "") for k, v in sorted(self.dropped.items())]
        body = "\n".join(f"| {name} | {count} |" for name, count, _ in rows)
        return "| outcome | records |\n|---|---:|\n" + body + "\n"


def split_edit(selftext: str) -> tuple[str, str]:
    """Split a post body into (body without edit lines, the edit text)."""
    edits = [m.group("text").strip() for m in EDIT_LINE.finditer(selftext)]
    body = EDIT_LINE.sub("", selftext).strip()
    return body, " ".join(e for e in edits if e)


def _is_deleted(author, body) -> bool:
    return author in DELETED or author is None or (body or "").strip() in DELETED


def _is_bot(rec: dict, bots: set[str], body: str) -> bool:
    return str(rec.get("author", "")).lower() in bots or bool(BOT_BODY.search(body))


def _is_op(rec: dict, op: str | None) -> bool:
    if "is_submitter" in rec and rec["is_submitter"] is not None:
        return bool(rec["is_submitter"])
    return op is not None and op not in DELETED and rec.get("author") == op


def _score(rec: dict) -> int | None:
    value = rec.get("score")
    return None if value is None else int(value)


def build_units(
    submissions: list[dict], comments: list[dict], filters: FilterConfig, bot_authors: set[str]
) -> tuple[pd.DataFrame, pd.DataFrame, Attrition]:
    """Apply the RedditESS filters to records in memory; return (units, posts, attrition).

    Records arrive pseudonymised and scrubbed (collect does that), so ``bot_authors`` holds the
    pseudonyms of ``filters.bot_authors`` under the same salt. The ``threads`` stage streams the
    same per-thread rule over ``data/raw`` instead (:func:`build_units_out_of_core`).
    """
    att = Attrition(records_in=len(submissions) + len(comments))
    by_post: dict[str, list[dict]] = defaultdict(list)
    posts = {s["id"]: s for s in submissions}
    for c in comments:
        post_id = str(c["link_id"])[3:]
        if post_id not in posts:
            att.dropped["comment_orphan_no_post"] += 1
        else:
            by_post[post_id].append(c)
    rule = ThreadRule(filters, bot_authors)
    unit_rows, post_rows = [], []
    for post_id in sorted(posts):
        post_row, units = rule.apply(posts[post_id], by_post.get(post_id, []), att)
        if post_row is not None:
            post_rows.append(post_row)
            unit_rows += units
    return units_frame(unit_rows), posts_frame(post_rows), att.finish()


class ThreadRule:
    """The filters applied to one thread (a post and every comment under it, in id order)."""

    def __init__(self, filters: FilterConfig, bot_authors: set[str]):
        self.filters = filters
        self.bots = {b.lower() for b in bot_authors}
        self.subs = {s.lower() for s in filters.subreddits}

    def apply(self, post: dict, thread: list[dict], att: Attrition) -> tuple[dict | None, list[dict]]:
        """Account for the post and its comments in ``att``; return (post row or None, unit rows)."""
        filters, bots, subs = self.filters, self.bots, self.subs
        post_id = post["id"]
        title, selftext = post.get("title") or "", post.get("selftext") or ""
        reason = None
        if subs and str(post.get("subreddit", "")).lower() not in subs:
            reason = "subreddit_excluded"
        elif filters.drop_deleted_posts and _is_deleted(post.get("author"), selftext):
            reason = "deleted_or_removed"
        elif filters.drop_bots and _is_bot(post, bots, selftext):
            reason = "bot"
        elif filters.drop_surveys and SURVEY.search(f"{title}\n{selftext}"):
            reason = "survey_or_recruitment"
        elif filters.require_edited_post and not post.get("edited"):
            reason = "not_edited"
        if reason:
            att.dropped[f"post_{reason}"] += 1
            att.dropped[f"comment_post_{reason}"] += len(thread)
            return None, []

        op = post.get("author")
        children: dict[str, list[dict]] = defaultdict(list)
        for c in thread:
            children[str(c["parent_id"])].append(c)
        reached: set[str] = set()
        units, general = [], []
        local_drop: Counter = Counter()
        local_used: Counter = Counter()
        for top in sorted(children.get(f"t3_{post_id}", []), key=lambda r: r["id"]):
            reached.add(top["id"])
            body = top.get("body") or ""
            subtree = _subtree(top, children)
            reached.update(r["id"] for r, _ in subtree)
            if _is_op(top, op):
                general.append(body)
                local_used["comment_op_general_feedback"] += 1
                local_drop["comment_under_op_comment"] += len(subtree)
                continue
            drop = None
            if filters.drop_bots and _is_bot(top, bots, body):
                drop = "bot"
            elif filters.drop_spam and SPAM.search(body):
                drop = "spam"
            elif filters.drop_deleted_comments and _is_deleted(top.get("author"), body):
                drop = "deleted_or_removed"
            if drop:
                local_drop[f"comment_{drop}"] += 1
                local_drop[f"comment_parent_{drop}"] += len(subtree)
                continue
            op_replies = [(r, d) for r, d in subtree if _is_op(r, op) and not _is_deleted(r.get("author"), r.get("body"))]
            local_drop["comment_reply_not_by_op"] += len(subtree) - len(op_replies)
            units.append((top, op_replies))

        detached = len(thread) - len(reached)
        n_with_op = sum(1 for _, replies in units if replies)
        if n_with_op < filters.min_op_replies:
            att.dropped["post_too_few_op_replies"] += 1
            att.dropped["comment_post_too_few_op_replies"] += len(thread)
            return None, []
        att.dropped.update(local_drop)
        att.used.update(local_used)
        att.dropped["comment_detached_parent_missing"] += detached
        att.kept["post"] += 1

        body, edit = split_edit(selftext)
        author = op if op and op not in DELETED else "[deleted]"
        post_row = dict(
            post_id=post_id, subreddit=str(post.get("subreddit", "")), created_utc=post.get("created_utc"),
            post_author=author, post_title=title, post_body=body, post_edit=edit,
            general_feedback=general, post_score=_score(post), n_units=len(units),
        )
        unit_rows = []
        for top, replies in units:
            att.kept["comment_unit"] += 1
            att.used["comment_op_reply"] += len(replies)
            unit_rows.append(
                dict(
                    post_id=post_id, comment_id=top["id"], subreddit=str(post.get("subreddit", "")),
                    post_author=author, post_title=title, post_body=body, post_edit=edit,
                    general_feedback=general, comment_author=top.get("author") or "[deleted]",
                    comment_body=top.get("body") or "", comment_score=_score(top),
                    comment_created_utc=top.get("created_utc"),
                    op_replies=[r.get("body") or "" for r, _ in replies],
                    op_reply_depths=[d for _, d in replies],
                    n_op_direct=sum(1 for _, d in replies if d == 1),
                    n_op_deeper=sum(1 for _, d in replies if d > 1),
                )
            )
        return post_row, unit_rows


def units_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=UNIT_COLUMNS)
    for col in ("comment_score", "comment_created_utc"):
        df[col] = df[col].astype("Int64")  # nullable: real dumps may lack scores or times
    return df


def posts_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=POST_COLUMNS)
    for col in ("created_utc", "post_score"):
        df[col] = df[col].astype("Int64")
    return df


def _subtree(top: dict, children: dict[str, list[dict]]) -> list[tuple[dict, int]]:
    """Every reply under ``top`` with its depth (1 = direct reply), in id order."""
    out, stack = [], [(c, 1) for c in children.get(f"t1_{top['id']}", [])]
    while stack:
        rec, depth = stack.pop()
        out.append((rec, depth))
        stack.extend((c, depth + 1) for c in children.get(f"t1_{rec['id']}", []))
    return sorted(out, key=lambda rd: (rd[1], rd[0]["id"]))


UNIT_COLUMNS = [
    "post_id", "comment_id", "subreddit", "post_author", "post_title", "post_body", "post_edit",
    "general_feedback", "comment_author", "comment_body", "comment_score", "comment_created_utc",
    "op_replies", "op_reply_depths", "n_op_direct", "n_op_deeper",
]
POST_COLUMNS = [
    "post_id", "subreddit", "created_utc", "post_author", "post_title", "post_body", "post_edit",
    "general_feedback", "post_score", "n_units",
]


_S, _I = pa.large_string(), pa.int64()
UNIT_SCHEMA = pa.schema([
    ("post_id", _S), ("comment_id", _S), ("subreddit", _S), ("post_author", _S), ("post_title", _S),
    ("post_body", _S), ("post_edit", _S), ("general_feedback", pa.list_(pa.string())), ("comment_author", _S),
    ("comment_body", _S), ("comment_score", _I), ("comment_created_utc", _I), ("op_replies", pa.list_(pa.string())),
    ("op_reply_depths", pa.list_(_I)), ("n_op_direct", _I), ("n_op_deeper", _I),
])
POST_SCHEMA = pa.schema([
    ("post_id", _S), ("subreddit", _S), ("created_utc", _I), ("post_author", _S), ("post_title", _S),
    ("post_body", _S), ("post_edit", _S), ("general_feedback", pa.list_(pa.string())), ("post_score", _I),
    ("n_units", _I),
])
"""The schemas pandas gives the frames of :func:`units_frame` / :func:`posts_frame`, fixed so every
row group of a streamed file has the same one (an all-empty list column would otherwise be typed null)."""
ROW_GROUP = 8192
BATCH = 4096
POST_FIELDS = ["id", "author", "title", "selftext", "subreddit", "created_utc", "score", "edited", "is_submitter"]
COMMENT_FIELDS = ["id", "link_id", "parent_id", "author", "body", "created_utc", "score", "is_submitter"]
"""The record fields the rule reads (the others of data/raw stay on disk)."""


class _FrameWriter:
    """Rows -> Parquet in row groups of ``ROW_GROUP``, through the same pandas frame and options
    as :func:`redditess.io.write_table` (so a file of one row group has the same bytes)."""

    def __init__(self, path: Path, schema: pa.Schema, frame):
        self.writer = pq.ParquetWriter(path, schema, compression="zstd", write_statistics=False)
        self.schema, self.frame, self.rows, self.n = schema, frame, [], 0

    def add(self, rows: list[dict]) -> None:
        self.rows += rows
        if len(self.rows) >= ROW_GROUP:
            self.flush()

    def flush(self) -> None:
        if self.rows or not self.n:
            table = pa.Table.from_pandas(self.frame(self.rows), schema=self.schema, preserve_index=False)
            self.writer.write_table(table.replace_schema_metadata(None), row_group_size=ROW_GROUP)
            self.n += len(self.rows)
            self.rows = []

    def close(self) -> None:
        self.flush()
        self.writer.close()


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _sorted_copy(con, source: Path, select: str, order: str, dest: Path) -> None:
    """Have DuckDB write ``select`` of the Parquet file ``source`` to ``dest`` sorted by ``order``:
    a blocking sort that spills to disk past the memory limit (a streamed ORDER BY result was seen
    keeping its sorted blocks pinned while it was read, so memory grew with the records)."""
    con.execute(f"COPY (SELECT {select} FROM read_parquet({_quoted(source)}) ORDER BY {order}) TO {_quoted(dest)} "
                f"(FORMAT parquet, ROW_GROUP_SIZE {BATCH})")


def _stream(path: Path) -> Iterator[dict]:
    """The rows of a Parquet file, a batch at a time, as dicts without their null fields."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH, use_threads=False):
        for row in batch.to_pylist():
            yield {k: v for k, v in row.items() if v is not None}


def _threads(path: Path) -> Iterator[tuple[str | None, list[dict]]]:
    """(post id, its comments in id order) from the comments sorted by ``_post, id``, where
    ``_post`` is ``link_id`` less its ``t3_`` prefix (null, sorted last, for a comment without one)."""
    current, group = None, []
    for rec in _stream(path):
        post = rec.pop("_post", None)
        if group and post != current:
            yield current, group
            group = []
        current = post
        group.append(rec)
    if group:
        yield current, group


def build_units_out_of_core(rs: Path, rc: Path, filters: FilterConfig, bot_authors: set[str], units_path: Path,
                            posts_path: Path, scratch: Path, memory_mb: int) -> tuple[Attrition, int, int, int]:
    """Stream ``data/raw``'s submissions ``rs`` and comments ``rc`` (Parquet) through the thread rule,
    writing the units to ``units_path`` and the posts to ``posts_path``; DuckDB's memory is capped
    at ``memory_mb`` and it spills to ``scratch``. Return (attrition, posts, units, units with an OP reply)."""
    import duckdb

    att = Attrition(records_in=pq.ParquetFile(rs).metadata.num_rows + pq.ParquetFile(rc).metadata.num_rows)
    rule = ThreadRule(filters, bot_authors)
    scratch.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": f"{memory_mb}MB", "temp_directory": str(scratch / "spill"),
                                 "threads": 2, "preserve_insertion_order": True})
    sorted_comments, sorted_posts = scratch / "comments_by_thread.parquet", scratch / "posts_by_id.parquet"
    _sorted_copy(con, rc, "substr(link_id, 4) AS _post, " + ", ".join(f'"{c}"' for c in COMMENT_FIELDS), "_post, id",
                 sorted_comments)
    _sorted_copy(con, rs, ", ".join(f'"{c}"' for c in POST_FIELDS), "id", sorted_posts)
    con.close()  # its memory goes back before the merge
    units_out = _FrameWriter(units_path, UNIT_SCHEMA, units_frame)
    posts_out = _FrameWriter(posts_path, POST_SCHEMA, posts_frame)
    n_posts = n_units = with_op = 0
    threads = _threads(sorted_comments)
    nxt = next(threads, None)
    for post in _stream(sorted_posts):
        pid = post["id"]
        while nxt is not None and nxt[0] is not None and nxt[0] < pid:
            att.dropped["comment_orphan_no_post"] += len(nxt[1])
            nxt = next(threads, None)
        thread: list[dict] = []
        if nxt is not None and nxt[0] == pid:
            thread, nxt = nxt[1], next(threads, None)
        post_row, units = rule.apply(post, thread, att)
        if post_row is not None:
            posts_out.add([post_row])
            units_out.add(units)
            n_posts += 1
            n_units += len(units)
            with_op += sum(1 for u in units if u["n_op_direct"] + u["n_op_deeper"] > 0)
    while nxt is not None:
        att.dropped["comment_orphan_no_post"] += len(nxt[1])
        nxt = next(threads, None)
    units_out.close()
    posts_out.close()
    con.close()
    return att.finish(), n_posts, n_units, with_op
