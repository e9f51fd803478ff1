import json

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from redditess.config import DumpConfig
from redditess.sources.dump import DumpError, RecordStore, normalize, read_dumps, strip_prefix

POST = {"id": "abc", "title": "t", "selftext": "hello", "author": "x", "subreddit": "depression",
        "created_utc": 1400000000, "edited": False}
COMMENT = {"id": "t1_c1", "link_id": "abc", "parent_id": "abc", "body": "hi", "author": "y",
           "subreddit": "depression", "created_utc": "1400000100", "edited": 1400000200}


def read(cfg, tmp_path, strict=False):
    store = RecordStore(tmp_path / f"store-{len(list(tmp_path.glob('store-*')))}.sqlite")
    stats = read_dumps(cfg, strict, store)
    return list(store.records("submission")), list(store.records("comment")), stats


def _write(path, lines, zst=False):
    data = "\n".join(lines).encode() + b"\n"
    if zst:
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


def test_reads_plain_and_zst_and_normalises_ids(tmp_path):
    _write(tmp_path / "RS_x.ndjson", [json.dumps(POST)])
    _write(tmp_path / "RC_x.ndjson.zst", [json.dumps(COMMENT)], zst=True)
    subs, coms, stats = read(DumpConfig(paths=[str(tmp_path / "R*")]), tmp_path, strict=False)
    assert [s["id"] for s in subs] == ["abc"] and subs[0]["name"] == "t3_abc"
    (c,) = coms
    assert (c["id"], c["link_id"], c["parent_id"], c["created_utc"]) == ("c1", "t3_abc", "t3_abc", 1400000100)
    assert stats.lines["kept_submission"] == 1 and stats.lines["kept_comment"] == 1


def test_malformed_line_is_named_and_counted_or_fatal_in_strict_mode(tmp_path):
    f = _write(tmp_path / "RC_bad.ndjson", [json.dumps(COMMENT), '{"id": "c2", "body": ', json.dumps({"body": "no id"})])
    subs, coms, stats = read(DumpConfig(paths=[str(f)]), tmp_path, strict=False)
    assert len(coms) == 1 and stats.lines["malformed"] == 2
    assert stats.malformed_examples[0].startswith(f"{f}:2: malformed record")
    assert f"{f}:3: malformed record: missing key 'id'" == stats.malformed_examples[1]
    with pytest.raises(DumpError, match=f"{f}:2: malformed"):
        read(DumpConfig(paths=[str(f)]), tmp_path, strict=True)


def test_filters_by_subreddit_and_time_and_keeps_latest_duplicate(tmp_path):
    other = dict(COMMENT, id="c3", subreddit="pics")
    old = dict(COMMENT, id="c4", created_utc=1)
    dup_old = dict(COMMENT, id="c5", body="old", retrieved_on=1)
    dup_new = dict(COMMENT, id="c5", body="new", retrieved_on=2)
    f = _write(tmp_path / "RC_f.ndjson", [json.dumps(r) for r in (COMMENT, other, old, dup_new, dup_old)])
    cfg = DumpConfig(paths=[str(f)], subreddits=["Depression"], start_utc=1000)
    _, coms, stats = read(cfg, tmp_path)
    assert sorted(c["id"] for c in coms) == ["c1", "c5"]
    assert next(c for c in coms if c["id"] == "c5")["body"] == "new"
    assert (stats.lines["filtered_subreddit"], stats.lines["filtered_time"], stats.lines["duplicate"]) == (1, 1, 1)
    assert sum(stats.lines.values()) == 5  # every line accounted for: kept, filtered or superseded


def test_missing_pattern_is_an_error_naming_it(tmp_path):
    with pytest.raises(DumpError, match="collect.dump.paths: pattern .*nothing.* matches no file"):
        read(DumpConfig(paths=[str(tmp_path / "nothing*")]), tmp_path)


def test_prefilter_skips_other_subreddits_without_parsing_and_tolerates_spacing(tmp_path):
    lines = ['{"id":"a1","link_id":"t3_p","parent_id":"t3_p","subreddit":"Depression","body":"x"}',
             '{"id": "a2", "link_id": "t3_p", "parent_id": "t3_p", "subreddit" : "depression", "body": "y"}',
             '{"id": "a3", "subreddit": "pics", this line is broken but never parsed',
             '{"id": "a4", "link_id": "t3_p", "parent_id": "t3_p", "subreddit": "depressionmemes", "body": "z"}']
    f = _write(tmp_path / "RC_p.ndjson.zst", lines, zst=True)
    _, coms, stats = read(DumpConfig(paths=[str(f)], subreddits=["depression"]), tmp_path)
    assert sorted(c["id"] for c in coms) == ["a1", "a2"]
    assert stats.lines["filtered_subreddit"] == 2 and stats.lines["malformed"] == 0


def test_prefiltered_malformed_lines_keep_their_line_numbers(tmp_path):
    good = '{"id": "%s", "link_id": "t3_p", "parent_id": "t3_p", "subreddit": "depression", "body": "x"}'
    lines = [good % "a", '{"subreddit": "pics"}', '{"subreddit": "depression", "id": broken', "", good % "b",
             '{"subreddit": "depression", "body": "no id"}']
    f = _write(tmp_path / "RC_m.ndjson", lines)
    _, coms, stats = read(DumpConfig(paths=[str(f)], subreddits=["depression"]), tmp_path)
    assert [c["id"] for c in coms] == ["a", "b"]
    assert [e.split(": malformed")[0] for e in stats.malformed_examples] == [f"{f}:3", f"{f}:6"]
    assert sum(stats.lines.values()) == len(lines)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10), st.sampled_from(["", "t1_", "t3_"]))
def test_strip_prefix_is_idempotent_and_removes_kind_prefixes(base, prefix):
    once = strip_prefix(prefix + base)
    assert strip_prefix(once) == once or once.startswith(("t1_", "t3_"))
    if not base.startswith(("t1_", "t3_")):
        assert once == base


@given(st.dictionaries(st.sampled_from(["id", "link_id", "parent_id", "created_utc", "body"]),
                       st.one_of(st.text(max_size=8), st.integers(), st.none()), max_size=5))
def test_normalize_never_raises_anything_but_the_counted_errors(record):
    try:
        normalize(record, "comment")
    except (KeyError, ValueError, TypeError, OverflowError):
        pass


def _comments(prefix, n):
    return [json.dumps(dict(COMMENT, id=f"{prefix}{i}", body=f"comment {i} " + "x" * 60)) for i in range(n)]


def test_truncated_zst_keeps_records_before_the_cut_and_other_files_and_names_the_file(tmp_path):
    whole = zstandard.ZstdCompressor().compress(("\n".join(_comments("a", 20000)) + "\n").encode())
    cut = tmp_path / "RC_cut.ndjson.zst"
    cut.write_bytes(whole[: len(whole) // 2])
    _write(tmp_path / "RC_ok.ndjson", _comments("b", 50))
    _, coms, stats = read(DumpConfig(paths=[str(tmp_path / "RC_*")]), tmp_path)
    kept_a = sum(c["id"].startswith("a") for c in coms)
    assert sum(c["id"].startswith("b") for c in coms) == 50  # the other file is read in full
    assert 5000 < kept_a < 20000  # what was decoded before the cut is kept
    (damage,) = stats.damaged
    assert damage.startswith(f"{cut}: truncated zstd data") and f"byte {len(whole) // 2}" in damage
    assert stats.lines["malformed"] == 0 and stats.lines["lost_partial_line"] == 1
    assert stats.lines["kept_comment"] == kept_a + 50
    with pytest.raises(DumpError, match=f"{cut}: truncated zstd data"):
        read(DumpConfig(paths=[str(cut)]), tmp_path, strict=True)


def test_corrupt_zst_names_file_and_offset_keeps_records_before_the_damage(tmp_path):
    good = zstandard.ZstdCompressor().compress(("\n".join(_comments("a", 300)) + "\n").encode())
    more = zstandard.ZstdCompressor().compress(("\n".join(_comments("z", 300)) + "\n").encode())
    bad = tmp_path / "RC_bad.ndjson.zst"
    bad.write_bytes(good + b"\x00garbage, not a zstd frame" * 10 + more)
    _write(tmp_path / "RC_ok.ndjson.zst", _comments("b", 40), zst=True)
    _, coms, stats = read(DumpConfig(paths=[str(tmp_path / "RC_*")]), tmp_path)
    ids = {c["id"][0] for c in coms}
    assert ids == {"a", "b"} and len(coms) == 340  # every record of the good frame, and the other file
    (damage,) = stats.damaged
    assert damage.startswith(f"{bad}: corrupt zstd data at compressed byte {len(good)} (")
    bad.write_bytes(b"this is not zstd at all\n" * 3)
    with pytest.raises(DumpError, match=f"{bad}: corrupt zstd data at compressed byte 0"):
        read(DumpConfig(paths=[str(bad)]), tmp_path, strict=True)


def test_fields_of_the_wrong_type_are_malformed_and_null_ids_are_counted_not_merged(tmp_path):
    lines = [json.dumps(dict(COMMENT, id="ok")),
             json.dumps(dict(COMMENT, id="c2", author=123)),
             json.dumps(dict(COMMENT, id="c3", body=["a list"])),
             json.dumps(dict(COMMENT, id="c4", score="12")),
             json.dumps(dict(COMMENT, id=None)),
             json.dumps(dict(COMMENT, id=None, body="another")),
             json.dumps(dict(COMMENT, id="c7", is_submitter="yes"))]
    f = _write(tmp_path / "RC_t.ndjson", lines)
    _, coms, stats = read(DumpConfig(paths=[str(f)]), tmp_path)
    assert [c["id"] for c in coms] == ["ok"]
    assert stats.lines["null_id"] == 2 and stats.lines["malformed"] == 4 and stats.lines["duplicate"] == 0
    assert stats.malformed_examples == [
        f"{f}:2: malformed record: field 'author' must be str, got int",
        f"{f}:3: malformed record: field 'body' must be str, got list",
        f"{f}:4: malformed record: field 'score' must be int, got str",
        f"{f}:7: malformed record: field 'is_submitter' must be bool, got str"]
    assert sum(stats.lines.values()) - stats.lines["kept_comment"] - stats.lines["kept_submission"] + 1 == len(lines)
