import json

import pytest

from redditess.config import DemoConfig
from redditess.privacy import KEEP_FIELDS, anonymize, pseudonym, salt_from_env, scrub
from redditess.runtime import InputError
from redditess.sources.demo import simulate
from redditess.takedown import load_takedown, removed_comments

from conftest import copy_pipeline, output_text, run_stage, write_params


def test_scrub_removes_contact_details_and_handles():
    text = ("mail me at jo.doe@example.com or call +1 555-123-4567 / 07700 900123, see https://x.y/z, "
            "www.help.org and site.com/page, ask u/SomeUser or /u/other_one, tweet @handle")
    out = scrub(text)
    for leak in ("jo.doe@example.com", "555-123-4567", "07700 900123", "https://x.y/z", "www.help.org",
                 "site.com/page", "SomeUser", "other_one", "@handle"):
        assert leak not in out, (leak, out)
    for placeholder in ("{{EMAIL}}", "{{PHONE}}", "{{URL}}", "{{USERNAME}}", "{{TWITTER}}"):
        assert placeholder in out
    assert scrub("I slept 8 hours on 2020-01-03 and it helped a lot.") == "I slept 8 hours on 2020-01-03 and it helped a lot."


def test_pseudonyms_are_keyed_stable_and_keep_deleted():
    assert pseudonym("alice", "k1") == pseudonym("alice", "k1") != pseudonym("alice", "k2")
    assert pseudonym("alice", "k1").startswith("u_") and "alice" not in pseudonym("alice", "k1")
    assert pseudonym("[deleted]", "k1") == pseudonym(None, "k1") == "[deleted]"


def test_real_data_needs_a_salt_from_the_environment(monkeypatch):
    monkeypatch.delenv("REDDITESS_SALT", raising=False)
    with pytest.raises(InputError, match="REDDITESS_SALT is not set"):
        salt_from_env("REDDITESS_SALT", "dump")
    assert salt_from_env("REDDITESS_SALT", "demo")
    monkeypatch.setenv("REDDITESS_SALT", "k")
    assert salt_from_env("REDDITESS_SALT", "dump") == "k"


def test_anonymize_keeps_only_the_fields_the_study_needs():
    rec = {"id": "a", "author": "bob", "body": "hi bob@x.com", "permalink": "/r/x/comments/a/bob", "url": "https://x",
           "author_flair_text": "Bob Smith", "score": 3}
    out = anonymize(rec, "s", True)
    assert set(out) <= KEEP_FIELDS and out["author"] == pseudonym("bob", "s") and out["body"] == "hi {{EMAIL}}"


def test_takedown_removes_posts_comments_and_their_replies(tmp_path):
    (tmp_path / "t.txt").write_text("# ids\nt3_p1\nc5  # a comment\n")
    ids = load_takedown(tmp_path / "t.txt")
    assert ids == {"p1", "c5"}
    comments = [
        {"id": "c1", "link_id": "t3_p1", "parent_id": "t3_p1"}, {"id": "c2", "link_id": "t3_p1", "parent_id": "t1_c1"},
        {"id": "c5", "link_id": "t3_p2", "parent_id": "t3_p2"}, {"id": "c6", "link_id": "t3_p2", "parent_id": "t1_c5"},
        {"id": "c7", "link_id": "t3_p2", "parent_id": "t1_c6"}, {"id": "c8", "link_id": "t3_p2", "parent_id": "t3_p2"},
    ]
    assert removed_comments(comments, ids) == {"c1", "c2", "c5", "c6", "c7"}
    (tmp_path / "bad.txt").write_text("t3_ok\nnot an id!\n")
    with pytest.raises(InputError, match="bad.txt:2: not a Reddit id"):
        load_takedown(tmp_path / "bad.txt")


def _planted(i: int) -> str:
    return [f"plant{i}@mailhost{i}.com", f"+44 7700 9{i:05d}", f"https://plant{i}.example.org/p{i}",
            f"u/planted_user_{i}", f"@planted{i}"][i % 5]


def test_pii_planted_in_1000_records_reaches_no_output(tmp_path, monkeypatch):
    out = simulate(DemoConfig(n_threads=150), 5)
    records = out.submissions + out.comments
    assert len(records) >= 1000
    planted = []
    for i, rec in enumerate(records[:1000]):
        secret = _planted(i)
        field = "selftext" if "title" in rec else "body"
        if rec[field] not in ("[deleted]", "[removed]"):
            rec[field] = f"{rec[field]} Reach me: {secret} anytime."
            planted.append(secret)
        if rec["author"] not in ("[deleted]", "AutoModerator"):
            planted.append(rec["author"])
    repo = copy_pipeline(tmp_path / "repo")
    (repo / "dumps").mkdir(exist_ok=True)
    (repo / "dumps/RS_plant.ndjson").write_text("".join(json.dumps(s) + "\n" for s in out.submissions))
    (repo / "dumps/RC_plant.ndjson").write_text("".join(json.dumps(c) + "\n" for c in out.comments))
    write_params(repo, {"collect": {"source": "dump", "dump": {"paths": ["dumps/R*.ndjson"]}}, "agreement": {"bootstrap": 20}})
    monkeypatch.setenv("REDDITESS_SALT", "pii-test-salt")
    for stage, *args in (("collect",), ("threads",), ("label", "general_feedback"), ("label", "community"),
                         ("label", "op_reply"), ("aggregate",), ("agreement",), ("split",), ("datacard",)):
        run_stage(repo, stage, *args)
    text = output_text(repo)
    assert len(planted) > 1500
    leaks = [p for p in planted if p in text]
    assert not leaks, f"{len(leaks)} planted strings leaked, e.g. {leaks[:5]}"
    assert "{{EMAIL}}" in text and "pii-test-salt" not in text
