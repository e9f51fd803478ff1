"""The real praw client against a fake Reddit API on 127.0.0.1."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from redditess.config import FilterConfig, PrawConfig
from redditess.sources.live import CredentialsError, collect_live, journal_path, make_reddit, rehydrate
from redditess.threads import build_units

from conftest import ROOT
from fake_reddit import FakeReddit, comment, post


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("REDDIT_CLIENT_ID", "id")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "secret")


def _cfg(tmp_path, **kw):
    return PrawConfig(subreddits=["MentalHealthSupport"], limit=10, state_dir=str(tmp_path / "state"),
                      backoff_seconds=0.01, **kw)


def test_missing_credentials_name_the_variables(monkeypatch):
    monkeypatch.delenv("REDDIT_CLIENT_ID")
    monkeypatch.delenv("REDDIT_CLIENT_SECRET")
    with pytest.raises(CredentialsError) as err:
        make_reddit(PrawConfig())
    assert str(err.value) == "collect.source=praw needs Reddit API credentials: set REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET"


def test_collects_posts_and_comment_trees_through_429_and_500(tmp_path):
    with FakeReddit(n_posts=2, faults={"/r/MentalHealthSupport/new": [429], "/comments/p2": [500, 429]}) as fake:
        cfg = _cfg(tmp_path)
        submissions, comments = collect_live(cfg, 0, make_reddit(cfg, oauth_url=fake.url, reddit_url=fake.url))
    assert sorted(s["id"] for s in submissions) == ["p1", "p2"]
    assert sorted(c["id"] for c in comments) == ["p1c", "p1r", "p2c", "p2r"]
    assert any(r.startswith("POST /api/v1/access_token") for r in fake.requests)
    assert fake.requests.count("GET /r/MentalHealthSupport/new") == 2  # the 429, then the answer
    assert fake.faults["/comments/p2"] == []  # both faults were served and survived
    units, posts, _ = build_units(submissions, comments, FilterConfig(), set())
    assert len(units) == 2 and units.n_op_direct.tolist() == [1, 1]
    assert posts.post_edit.tolist() == ["thanks all", "thanks all"]


def test_persistent_errors_give_up_after_the_retry_budget(tmp_path):
    import prawcore

    with FakeReddit(n_posts=1, faults={"/comments/p1": [429] * 10}) as fake:
        cfg = _cfg(tmp_path, max_retries=2)
        with pytest.raises(prawcore.exceptions.TooManyRequests):
            collect_live(cfg, 0, make_reddit(cfg, oauth_url=fake.url, reddit_url=fake.url))
    assert fake.comment_fetches["p1"] == 0 and len(fake.faults["/comments/p1"]) == 7


def test_a_killed_collection_resumes_without_refetching_or_duplicates(tmp_path):
    with FakeReddit(n_posts=6, delay=0.3) as fake:
        cfg = _cfg(tmp_path)
        script = (
            "import sys; from redditess.config import PrawConfig; from redditess.sources.live import collect_live, make_reddit\n"
            f"cfg = PrawConfig(subreddits=['MentalHealthSupport'], limit=10, state_dir={cfg.state_dir!r}, backoff_seconds=0.01)\n"
            f"collect_live(cfg, 0, make_reddit(cfg, oauth_url={fake.url!r}, reddit_url={fake.url!r}))\n"
        )
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        child = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        journal = journal_path(cfg)
        deadline = time.time() + 60
        while time.time() < deadline and (not journal.exists() or len(journal.read_text().splitlines()) < 2):
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait()
        done_before = {json.loads(line)["post"]["id"] for line in journal.read_text().splitlines() if line.endswith("}")}
        assert 2 <= len(done_before) < 6, child.stderr.read().decode()[-2000:]
        fetched_before = dict(fake.comment_fetches)
        submissions, comments = collect_live(cfg, 0, make_reddit(cfg, oauth_url=fake.url, reddit_url=fake.url))
    assert sorted(s["id"] for s in submissions) == [f"p{i}" for i in range(1, 7)]
    assert len(comments) == 12 and len({c["id"] for c in comments}) == 12
    for pid in done_before:  # journaled posts were not fetched again
        assert fake.comment_fetches[pid] == fetched_before[pid] == 1


def test_rehydration_reports_what_became_of_each_published_id(tmp_path):
    published = {"t3_a": "I feel low.", "t1_b": "original words", "t1_c": "kind words", "t1_d": "gone soon",
                 "t1_e": "will be removed", "t3_f": "a post"}
    things = {
        "t3_a": post("a", selftext="I feel low."),
        "t1_b": comment("b", "a", "t3_a", "x", "edited words", edited=1700009999.0),
        "t1_c": comment("c", "a", "t3_a", "y", "kind words"),
        "t1_d": comment("d", "a", "t3_a", "[deleted]", "[deleted]"),
        "t1_e": comment("e", "a", "t3_a", "z", "[removed]"),
    }
    ids = tmp_path / "ids.tsv"
    ids.write_text("# published ids\n" + "".join(f"{k}\t{hashlib.sha256(v.encode()).hexdigest()}\n" for k, v in published.items()))
    with FakeReddit(things=things, faults={"/api/info": [503]}) as fake:
        cfg = _cfg(tmp_path, ids_file=str(ids))
        subs, coms, status = rehydrate(cfg, 0, make_reddit(cfg, oauth_url=fake.url, reddit_url=fake.url))
    assert dict(status) == {"unchanged": 2, "edited_since": 1, "deleted": 1, "removed": 1, "missing": 1}
    assert [s["id"] for s in subs] == ["a"] and sorted(c["id"] for c in coms) == ["b", "c", "d", "e"]


def test_rehydration_ids_file_errors_name_the_line(tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("t3_a\nabc\n")
    with pytest.raises(Exception, match=r"ids.txt:2: expected a fullname"):
        rehydrate(_cfg(tmp_path, ids_file=str(ids)), 0, reddit=object())
    assert Path(ids).exists()
