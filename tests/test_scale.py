"""The data stages at research scale: dump files read in parallel with output independent of the
worker count and of file names (damaged files included), data/raw as deterministic Parquet, and
threads built out of core equal to the in-memory rule."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
import zstandard

from redditess import threads as threads_mod
from redditess.config import DemoConfig, FilterConfig
from redditess.io import RawWriter, iter_raw, read_truth
from redditess.privacy import anonymize
from redditess.sources.demo import simulate
from redditess.threads import build_units, build_units_out_of_core

from conftest import copy_pipeline, run_stage, write_params

SALT = "scale-test-salt-0123456789"


def _dumps(folder: Path) -> None:
    """Four dump files: demo records split over a plain RS file and three RC files (one zstd, one
    damaged zstd), with a malformed line, and one comment twice with the same retrieval time but
    different text (which copy wins must not depend on which file is read first)."""
    out = simulate(DemoConfig(n_threads=40), 5)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "RS_2021-01.ndjson").write_text("".join(json.dumps(s) + "\n" for s in out.submissions))
    coms = [dict(c, retrieved_on=1700000000) for c in out.comments]
    third = len(coms) // 3
    twin = dict(coms[0], body="the same comment, fetched again with another text")
    (folder / "RC_2021-01.ndjson").write_text("".join(json.dumps(c) + "\n" for c in coms[:third]) + "not json\n")
    (folder / "RC_2021-02.ndjson.zst").write_bytes(zstandard.ZstdCompressor().compress(
        "".join(json.dumps(c) + "\n" for c in [twin, *coms[third:2 * third]]).encode()))
    whole = zstandard.ZstdCompressor().compress("".join(json.dumps(c) + "\n" for c in coms[2 * third:]).encode())
    (folder / "RC_2021-03.ndjson.zst").write_bytes(whole[: len(whole) * 2 // 3])  # truncated: damaged


def _collect(repo: Path, workers: int) -> dict[str, bytes]:
    write_params(repo, {"collect": {"source": "dump", "workers": workers, "dump": {"paths": ["dumps/*.ndjson*"]}}})
    run_stage(repo, "collect")
    return {p.name: p.read_bytes() for p in sorted((repo / "data/raw").iterdir())}


@pytest.fixture()
def repo(tmp_path, monkeypatch):
    monkeypatch.setenv("REDDITESS_SALT", SALT)
    repo = copy_pipeline(tmp_path / "repo")
    _dumps(repo / "dumps")
    return repo


def test_collect_output_is_byte_identical_for_any_worker_count(repo):
    one = _collect(repo, 1)
    two = _collect(repo, 2)
    assert sorted(one) == ["RC.parquet", "RS.parquet", "report.json", "truth.parquet"]
    assert one == two
    report = json.loads(one["report.json"])
    counts = report["counts"]
    assert counts["lines_malformed"] == 1 and counts["lines_duplicate"] == 1
    # every line read is accounted for; the kept comments are those written (none taken down here)
    assert counts["comments"] == counts["lines_kept_comment"] - counts["dropped_comment_cycle"]
    comments = list(iter_raw(repo / "data/raw/RC.parquet"))
    assert [c["id"] for c in comments] == sorted(c["id"] for c in comments)
    # of two copies retrieved at the same moment, the one whose serialised record sorts last wins
    first = json.loads((repo / "dumps/RC_2021-01.ndjson").read_text().splitlines()[0])
    twin = "the same comment, fetched again with another text"
    kept = next(c for c in comments if c["id"] == first["id"])
    assert (kept["body"] == twin) == (json.dumps(twin) > json.dumps(first["body"]))
    assert read_truth(repo / "data/raw/truth.parquet").empty  # a real source has no truth


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def test_renaming_a_damaged_dump_leaves_every_raw_file_byte_identical(repo):
    before = _collect(repo, 2)
    report = json.loads(before["report.json"])
    damaged = repo / "dumps/RC_2021-03.ndjson.zst"
    (line,) = report["damaged_files"]
    assert line.startswith(f"sha256:{_sha(damaged)}: truncated zstd data") and "RC_2021" not in line
    assert report["malformed_examples"] == [f"sha256:{_sha(repo / 'dumps/RC_2021-01.ndjson')}:"
                                            f"{sum(1 for _ in open(repo / 'dumps/RC_2021-01.ndjson'))}: malformed record: "
                                            "invalid literal, expected 'null': line 1 column 1 (char 0)"]
    # rename every file so that the reading order changes too: the damaged one now comes first
    damaged.rename(repo / "dumps/RC_2020-12.ndjson.zst")
    (repo / "dumps/RC_2021-01.ndjson").rename(repo / "dumps/RC_2022-01.ndjson")
    (repo / "dumps/RC_2021-02.ndjson.zst").rename(repo / "dumps/depression_comments.ndjson.zst")
    assert _collect(repo, 2) == before


def test_raw_parquet_bytes_depend_only_on_the_rows(tmp_path, monkeypatch):
    monkeypatch.setattr("redditess.io.RAW_ROW_GROUP", 7)  # several row groups, the last one partial
    out = simulate(DemoConfig(n_threads=6), 1)
    rows = [anonymize(c, SALT, True) for c in sorted(out.comments, key=lambda c: c["id"])]
    paths = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    for path in paths:
        with RawWriter(path) as w:
            for r in rows:
                w.write(r)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    back = list(iter_raw(paths[0]))
    assert back == [{k: v for k, v in r.items() if v is not None} for r in rows]
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(paths[0]).metadata
    assert meta.num_row_groups == -(-len(rows) // 7) and set(meta.metadata) == {b"ARROW:schema"}  # no pandas metadata


def test_raw_writer_names_a_field_of_the_wrong_type(tmp_path):
    from redditess.runtime import InputError

    with pytest.raises(InputError, match=r"RC.parquet: record 'c1': field 'score' = 'many' is not a int64"):
        with RawWriter(tmp_path / "RC.parquet") as w:
            w.write({"id": "c1", "score": "many"})


def _frames_out_of_core(tmp_path: Path, subs: list[dict], coms: list[dict], filters: FilterConfig, bots: set[str],
                        memory_mb: int = 64):
    for name, rows in (("RS.parquet", subs), ("RC.parquet", coms)):
        with RawWriter(tmp_path / name) as w:
            for r in sorted(rows, key=lambda r: r["id"]):
                w.write(r)
    att, n_posts, n_units, with_op = build_units_out_of_core(
        tmp_path / "RS.parquet", tmp_path / "RC.parquet", filters, bots, tmp_path / "units.parquet",
        tmp_path / "posts.parquet", tmp_path / "spill", memory_mb)
    units, posts = pd.read_parquet(tmp_path / "units.parquet"), pd.read_parquet(tmp_path / "posts.parquet")
    assert (n_posts, n_units) == (len(posts), len(units))
    assert with_op == int((units.n_op_direct + units.n_op_deeper > 0).sum())
    return units, posts, att


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for col in a.columns:
        assert [_plain(v) for v in a[col]] == [_plain(v) for v in b[col]], col


def _plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return None if value is pd.NA or (isinstance(value, float) and value != value) else value


def test_out_of_core_threads_equal_the_in_memory_rule(tmp_path, monkeypatch):
    monkeypatch.setattr(threads_mod, "ROW_GROUP", 50)  # many row groups and batches
    monkeypatch.setattr(threads_mod, "BATCH", 37)
    out = simulate(DemoConfig(n_threads=150), 2)
    subs = [anonymize(s, SALT, True) for s in out.submissions]
    coms = [anonymize(c, SALT, True) for c in out.comments]
    # orphans on both sides of the posts' id range, and one whose post id sorts between two posts
    coms += [dict(coms[0], id="zz_orphan1", link_id="t3_0000000"), dict(coms[0], id="zz_orphan2", link_id="t3_zzzzzzzz"),
             dict(coms[0], id="zz_orphan3", link_id=f"t3_{sorted(s['id'] for s in subs)[3]}0")]
    filters = FilterConfig()
    bots = {"automoderator"}
    units_mem, posts_mem, att_mem = build_units(subs, coms, filters, bots)
    units, posts, att = _frames_out_of_core(tmp_path, subs, coms, filters, bots)
    _same(units, units_mem.sort_values(["post_id", "comment_id"], kind="mergesort").reset_index(drop=True))
    _same(posts, posts_mem.sort_values(["post_id"], kind="mergesort").reset_index(drop=True))
    assert att.as_metrics() == att_mem.as_metrics()
    assert att.dropped["comment_orphan_no_post"] == att_mem.dropped["comment_orphan_no_post"] >= 3
    assert len(units) > 2 * 50  # the streamed writer really wrote several row groups


def test_out_of_core_threads_on_the_shared_real_data(shared_data, tmp_path):
    from redditess.config import DumpConfig
    from redditess.privacy import pseudonym
    from redditess.sources.dump import RecordStore, read_dumps

    cfg = DumpConfig(paths=[str(shared_data / "red-mhs" / "*.ndjson"), str(shared_data / "reddit-api-samples" / "*.ndjson")])
    store = RecordStore(tmp_path / "store.sqlite")
    read_dumps(cfg, False, store, workers=2)
    subs = [anonymize(r, SALT, True) for r in store.records("submission")]
    coms = [anonymize(r, SALT, True) for r in store.records("comment")]
    filters = FilterConfig(require_edited_post=False)
    bots = {pseudonym(b, SALT) for b in filters.bot_authors}
    units_mem, posts_mem, att_mem = build_units(subs, coms, filters, bots)
    units, posts, att = _frames_out_of_core(tmp_path, subs, coms, filters, bots)
    _same(units, units_mem.sort_values(["post_id", "comment_id"], kind="mergesort").reset_index(drop=True))
    _same(posts, posts_mem)
    assert att.as_metrics() == att_mem.as_metrics() and att.records_in == len(subs) + len(coms)
    assert len(units) > 300


def test_the_raw_schema_has_a_column_for_every_field_collect_keeps():
    from redditess.io import RAW_SCHEMA
    from redditess.privacy import KEEP_FIELDS

    assert set(RAW_SCHEMA.names) == KEEP_FIELDS
