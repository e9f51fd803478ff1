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
from redditess.sources.live import CredentialsError, RedditError, collect_live, journal_path, make_reddit, rehydrate
from redditess.threads import build_units

from conftest import ROOT
from fake_reddit import FakeReddit, comment, post


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("REDDIT_CLIENT_ID", "id")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "secret")


def _cfg(tmp_path, **kw):
    base = dict(subreddits=["MentalHealthSupport"], limit=10, state_dir=str(tmp_path / "state"), backoff_seconds=0.01)
    return PrawConfig(**{**base, **kw})


def test_missing_credentials_name_the_variables(monkeypatch):
    monkeypatch.delenv("REDDIT_CLIENT_ID")
    monkeypatch.delenv("REDDIT_CLIENT_SECRET")
    with pytest.raises(CredentialsError) as err:
        make_reddit(PrawConfig())
    assert str(err.value) == "collect.source=praw needs Reddit API credentials: set REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET"


def test_collects_posts_and_comment_trees_through_429_and_500(tmp_path):
    with FakeReddit(n_posts=2, faults={"/r/MentalHealthSupport/new": [429], "/comments/p2": [500, 429]}) as fake:
        cfg = _cfg(tmp_path, api_url=fake.url)
        submissions, comments, counts = collect_live(cfg, 0, make_reddit(cfg))
    assert sorted(s["id"] for s in submissions) == ["p1", "p2"]
    assert sorted(c["id"] for c in comments) == ["p1c", "p1r", "p2c", "p2r"]
    assert any(r.startswith("POST /api/v1/access_token") for r in fake.requests)
    assert fake.requests.count("GET /r/MentalHealthSupport/new") == 2  # the 429, then the answer
    assert fake.faults["/comments/p2"] == []  # both faults were served and survived
    units, posts, _ = build_units(submissions, comments, FilterConfig(), set())
    assert len(units) == 2 and units.n_op_direct.tolist() == [1, 1]
    assert posts.post_edit.tolist() == ["thanks all", "thanks all"]
    assert counts["unexpanded_comments"] == 0


def test_persistent_errors_give_up_after_the_retry_budget(tmp_path):
    with FakeReddit(n_posts=1, faults={"/comments/p1": [429] * 10}) as fake:
        cfg = _cfg(tmp_path, max_retries=2, api_url=fake.url)
        with pytest.raises(RedditError, match=r"^http://127.0.0.1:\d+: HTTP 429 for .*/comments/p1.* after 2 retries$"):
            collect_live(cfg, 0, make_reddit(cfg))
    assert fake.comment_fetches["p1"] == 0 and len(fake.faults["/comments/p1"]) == 7


def test_a_killed_collection_resumes_without_refetching_or_duplicates(tmp_path):
    with FakeReddit(n_posts=6, delay=0.3) as fake:
        cfg = _cfg(tmp_path, api_url=fake.url)
        script = (
            "import sys; from redditess.config import PrawConfig; from redditess.sources.live import collect_live, make_reddit\n"
            f"cfg = PrawConfig(subreddits=['MentalHealthSupport'], limit=10, state_dir={cfg.state_dir!r}, backoff_seconds=0.01,"
            f" api_url={fake.url!r})\n"
            "collect_live(cfg, 0, make_reddit(cfg))\n"
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
        submissions, comments, _ = collect_live(cfg, 0, make_reddit(cfg))
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
        cfg = _cfg(tmp_path, ids_file=str(ids), api_url=fake.url)
        subs, coms, status = rehydrate(cfg, 0, make_reddit(cfg))
    assert dict(status) == {"unchanged": 2, "edited_since": 1, "deleted": 1, "removed": 1, "missing": 1}
    assert [s["id"] for s in subs] == ["a"] and sorted(c["id"] for c in coms) == ["b", "c", "d", "e"]


def test_rehydration_ids_file_errors_name_the_line(tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("t3_a\nabc\n")
    with pytest.raises(Exception, match=r"ids.txt:2: expected a fullname"):
        rehydrate(_cfg(tmp_path, ids_file=str(ids)), 0, reddit=object())
    assert Path(ids).exists()


# --------------------------------------------------------------------------- failing loudly
def _one_line(exc) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_wrong_credentials_are_one_line_naming_the_variables(tmp_path):
    with FakeReddit(credentials=("id", "another-secret")) as fake:
        cfg = _cfg(tmp_path, api_url=fake.url)
        with pytest.raises(RedditError) as err:
            collect_live(cfg, 0, make_reddit(cfg))
    assert _one_line(err) == (f"{fake.url} refused the Reddit API credentials in REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET "
                              "(HTTP 401 from the token endpoint)")


@pytest.mark.parametrize("kind, expected", [
    ("unknown", "r/NoSuchSub: no such subreddit at {url} (the API redirected to its search; check collect.praw.subreddits)"),
    ("private", "r/NoSuchSub: access denied at {url} (HTTP 403: the subreddit is private, quarantined or banned)"),
])
def test_an_unknown_or_private_subreddit_is_one_line_naming_it(tmp_path, kind, expected):
    with FakeReddit(**{kind: ["NoSuchSub"]}) as fake:
        cfg = PrawConfig(subreddits=["MentalHealthSupport", "NoSuchSub"], state_dir=str(tmp_path / "s"), api_url=fake.url,
                         backoff_seconds=0.01)
        with pytest.raises(RedditError) as err:
            collect_live(cfg, 0, make_reddit(cfg))
    assert _one_line(err) == expected.format(url=fake.url)


def test_an_unreachable_server_is_one_line_naming_the_url_after_the_retries(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    cfg = _cfg(tmp_path, api_url=url, max_retries=1)
    start = time.monotonic()
    with pytest.raises(RedditError) as err:
        collect_live(cfg, 0, make_reddit(cfg))
    assert _one_line(err) == (f"cannot reach the Reddit API at {url} after 1 retry (ConnectionError; check "
                              "collect.praw.api_url and the network)")
    assert time.monotonic() - start < 30  # praw's own retries (about 3 s a try) included


def test_limit_null_takes_all_the_listing_gives(tmp_path):
    with FakeReddit(n_posts=3) as fake:
        cfg = PrawConfig(subreddits=["MentalHealthSupport"], limit=None, state_dir=str(tmp_path / "s"), api_url=fake.url)
        submissions, _, _ = collect_live(cfg, 0, make_reddit(cfg))
    assert sorted(s["id"] for s in submissions) == ["p1", "p2", "p3"]


@pytest.mark.parametrize("replace_more_limit, unexpanded", [(0, 6), (32, 0)])
def test_comments_left_unexpanded_are_counted_and_warned(tmp_path, caplog, replace_more_limit, unexpanded):
    with FakeReddit(n_posts=2, more=3) as fake:
        cfg = _cfg(tmp_path, api_url=fake.url, replace_more_limit=replace_more_limit)
        _, comments, counts = collect_live(cfg, 0, make_reddit(cfg))
    assert counts["unexpanded_comments"] == unexpanded
    assert len(comments) == 4 + 6 - unexpanded  # every comment is either collected or counted
    warned = [r.getMessage() for r in caplog.records if "left unexpanded" in r.getMessage()]
    assert warned == (["praw: 6 comments under 2 posts were left unexpanded by collect.praw.replace_more_limit=0 "
                       "and are not collected (raise the limit to fetch them)"] if unexpanded else [])


def test_a_changed_source_starts_a_fresh_journal(tmp_path):
    with FakeReddit(n_posts=2) as first:
        cfg = _cfg(tmp_path, api_url=first.url)
        collect_live(cfg, 0, make_reddit(cfg))
    with FakeReddit(n_posts=3) as second:
        cfg2 = _cfg(tmp_path, api_url=second.url)
        submissions, _, _ = collect_live(cfg2, 0, make_reddit(cfg2))
        assert dict(second.comment_fetches) == {"p1": 1, "p2": 1, "p3": 1}  # nothing taken from the first source
        assert journal_path(cfg2) != journal_path(cfg) and journal_path(cfg).exists()
        again, _, _ = collect_live(cfg2, 0, make_reddit(cfg2))  # same source: resumed, nothing fetched again
        assert dict(second.comment_fetches) == {"p1": 1, "p2": 1, "p3": 1}
    assert sorted(s["id"] for s in submissions) == sorted(s["id"] for s in again) == ["p1", "p2", "p3"]
    assert journal_path(_cfg(tmp_path, api_url=second.url, limit=5)) != journal_path(cfg2)  # and so do its params


# --------------------------------------------------------------------------- the collect stage
def _praw_repo(tmp_path, monkeypatch, url, **praw):
    from conftest import copy_pipeline, write_params

    monkeypatch.setenv("REDDITESS_SALT", "test-salt-0123456789abcdef")
    repo = copy_pipeline(tmp_path / "r")
    write_params(repo, {"collect": {"source": "praw", "praw": {"api_url": url, "backoff_seconds": 0.01, "max_retries": 1,
                                                               "state_dir": str(tmp_path / "state"), **praw}}})
    return repo


def test_the_collect_stage_fails_with_one_error_line_and_no_output(tmp_path, monkeypatch):
    from conftest import run_stage

    with FakeReddit(credentials=("id", "other")) as fake:
        repo = _praw_repo(tmp_path, monkeypatch, fake.url)
        proc = run_stage(repo, "collect", check=False)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert errors == [f"error: {fake.url} refused the Reddit API credentials in REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET "
                      "(HTTP 401 from the token endpoint)"]
    assert not (repo / "data/raw").exists() and not (repo / "metrics/collect.json").exists()


def test_the_collect_stage_reports_unexpanded_comments(tmp_path, monkeypatch):
    from conftest import run_stage

    with FakeReddit(n_posts=2, more=3) as fake:
        repo = _praw_repo(tmp_path, monkeypatch, fake.url, replace_more_limit=0)
        proc = run_stage(repo, "collect")
    report = json.loads((repo / "data/raw/report.json").read_text())
    assert report["counts"]["unexpanded_comments"] == 6 and report["counts"]["comments"] == 4
    assert json.loads((repo / "metrics/collect.json").read_text())["unexpanded_comments"] == 6
    assert "6 comments under 2 posts were left unexpanded" in proc.stderr


@pytest.mark.slow
def test_editing_the_ids_file_re_runs_collect(tmp_path):
    from test_pipeline import init_repo, sh

    repo = init_repo(tmp_path / "ids", {"collect": {"demo": {"n_threads": 20}}})
    assert "Running stage 'collect'" in sh(repo, "dvc", "repro", "collect")
    assert "Running stage" not in sh(repo, "dvc", "repro", "collect")
    with open(repo / "published_ids.tsv", "a") as fh:
        fh.write("t3_abc\n")
    assert "Running stage 'collect'" in sh(repo, "dvc", "repro", "collect")
