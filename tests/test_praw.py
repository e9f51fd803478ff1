import pytest

from redditess.config import FilterConfig, PrawConfig
from redditess.sources.live import CredentialsError, collect_live, make_reddit
from redditess.threads import build_units

from fake_reddit import FakeReddit


def test_missing_credentials_name_the_variables(monkeypatch):
    monkeypatch.delenv("REDDIT_CLIENT_ID", raising=False)
    monkeypatch.delenv("REDDIT_CLIENT_SECRET", raising=False)
    with pytest.raises(CredentialsError) as err:
        make_reddit(PrawConfig())
    assert str(err.value) == "collect.source=praw needs Reddit API credentials: set REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET"


def test_real_praw_client_collects_posts_and_comment_trees(monkeypatch):
    monkeypatch.setenv("REDDIT_CLIENT_ID", "id")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "secret")
    with FakeReddit() as fake:
        cfg = PrawConfig(subreddits=["MentalHealthSupport"], limit=2)
        reddit = make_reddit(cfg, oauth_url=fake.url, reddit_url=fake.url)
        submissions, comments = collect_live(cfg, reddit)
    assert sorted(s["id"] for s in submissions) == ["p1", "p2"]
    assert sorted(c["id"] for c in comments) == ["p1c", "p1r", "p2c", "p2r"]
    assert any(r.startswith("POST /api/v1/access_token") for r in fake.requests)
    # The records feed the same thread builder as dump records.
    units, posts, att = build_units(submissions, comments, FilterConfig(), "salt", True)
    assert len(units) == 2 and units.n_op_direct.tolist() == [1, 1]
    assert posts.post_edit.tolist() == ["thanks all", "thanks all"]
