import pytest

from redditess.config import DemoConfig, DumpConfig, FilterConfig
from redditess.privacy import anonymize, pseudonym
from redditess.sources.demo import simulate
from redditess.sources.dump import RecordStore, read_dumps
from redditess.threads import build_units, split_edit


def _post(pid="p1", **kw):
    base = {"id": pid, "name": f"t3_{pid}", "author": "op", "title": "Help", "selftext": "I feel low.\n\nEDIT: thanks all",
            "subreddit": "depression", "created_utc": 1, "edited": 5, "score": 3}
    return {**base, **kw}


def _c(cid, parent, author, body="nice words", pid="p1", score=4, **kw):
    return {"id": cid, "name": f"t1_{cid}", "link_id": f"t3_{pid}", "parent_id": parent, "author": author,
            "body": body, "score": score, "created_utc": 2, **kw}


def test_units_carry_op_replies_at_any_depth_and_general_feedback():
    comments = [
        _c("a", "t3_p1", "helper"), _c("b", "t1_a", "op", "thank you"), _c("c", "t1_b", "helper", "np"),
        _c("d", "t1_c", "op", "really, thanks"), _c("e", "t1_a", "someone", "+1"),
        _c("f", "t3_p1", "op", "Thanks everyone"), _c("g", "t3_p1", "AutoModerator", "I am a bot"),
        _c("h", "t3_p1", "[deleted]", "[deleted]"), _c("i", "t1_zz", "x"), _c("j", "t3_nope", "x", pid="nope"),
        _c("k", "t3_p1", "seller", "Use code HEAL20 for 20% off"),
    ]
    units, posts, att = build_units([_post()], comments, FilterConfig(), {"AutoModerator"})
    assert units.comment_id.tolist() == ["a"]
    row = units.iloc[0]
    assert list(row.op_replies) == ["thank you", "really, thanks"]
    assert list(row.op_reply_depths) == [1, 3] and (row.n_op_direct, row.n_op_deeper) == (1, 1)
    assert list(row.general_feedback) == ["Thanks everyone"] and row.post_edit == "thanks all"
    assert row.post_body == "I feel low."
    assert row.comment_author == "helper"  # collect pseudonymised it already
    m = att.as_metrics()
    assert m["records_in"] == 12
    assert m["dropped_comment_bot"] == 1 and m["dropped_comment_deleted_or_removed"] == 1
    assert m["dropped_comment_spam"] == 1 and m["dropped_comment_orphan_no_post"] == 1
    assert m["dropped_comment_detached_parent_missing"] == 1 and m["dropped_comment_reply_not_by_op"] == 2
    assert m["used_comment_op_reply"] == 2 and m["used_comment_op_general_feedback"] == 1


@pytest.mark.parametrize("post, reason", [
    (_post(edited=False), "post_not_edited"),
    (_post(selftext="[removed]"), "post_deleted_or_removed"),
    (_post(title="Participants needed for a survey"), "post_survey_or_recruitment"),
    (_post(subreddit="pics"), "post_subreddit_excluded"),
])
def test_post_filters_drop_with_their_reason(post, reason):
    comments = [_c("a", "t3_p1", "helper"), _c("b", "t1_a", "op", "thanks")]
    units, posts, att = build_units([post], comments, FilterConfig(subreddits=["depression"]), set())
    assert units.empty and att.dropped[reason] == 1 and att.dropped["comment_" + reason] == 2


def test_posts_without_op_replies_are_dropped_and_counted():
    units, _, att = build_units([_post()], [_c("a", "t3_p1", "helper")], FilterConfig(), set())
    assert units.empty and att.dropped["post_too_few_op_replies"] == 1
    units, _, _ = build_units([_post()], [_c("a", "t3_p1", "helper")], FilterConfig(min_op_replies=0), set())
    assert len(units) == 1


@pytest.mark.parametrize("text, edit", [
    ("body\nEDIT: thanks", "thanks"), ("body\n**Edit 2:** it worked", "it worked"),
    ("body\nUpdate - I called them", "I called them"), ("body\nETA: sorry for typos", "sorry for typos"),
    ("body\n\nedit (2 days later): better now", "better now"), ("editing my life", ""),
])
def test_edit_forms(text, edit):
    body, found = split_edit(text)
    assert found == edit and body.startswith(("body", "editing"))


def test_demo_attrition_adds_up_and_keeps_most_threads():
    out = simulate(DemoConfig(n_threads=120), 3)
    units, posts, att = build_units(out.submissions, out.comments, FilterConfig(), {"automoderator"})
    att.check()
    assert att.records_in == len(out.submissions) + len(out.comments)
    assert 0.5 < len(posts) / len(out.submissions) < 1
    assert set(units.post_id) <= set(posts.post_id)
    assert not units.duplicated(["post_id", "comment_id"]).any()


def test_shared_real_data_runs_through_collect_and_threads(shared_data, tmp_path):
    cfg = DumpConfig(paths=[str(shared_data / "red-mhs" / "*.ndjson"), str(shared_data / "reddit-api-samples" / "*.ndjson")])
    store = RecordStore(tmp_path / "store.sqlite")
    stats = read_dumps(cfg, False, store)
    lines = sum(1 for p in shared_data.glob("*/*.ndjson") for _ in open(p))
    assert sum(stats.lines.values()) == lines  # every line accounted for
    raw_authors = {r["author"] for kind in ("submission", "comment") for r in store.records(kind)}
    subs = [anonymize(r, "test-salt", True) for r in store.records("submission")]
    coms = [anonymize(r, "test-salt", True) for r in store.records("comment")]
    filters = FilterConfig(require_edited_post=False)
    units, posts, att = build_units(subs, coms, filters, {pseudonym(b, "test-salt") for b in filters.bot_authors})
    att.check()
    assert att.records_in == len(subs) + len(coms)
    red = units[units.subreddit == "MentalHealthSupport"]
    assert len(red) > 300  # red-mhs: post -> first comment -> OP reply chains
    assert (red.n_op_direct + red.n_op_deeper > 0).all()
    assert (red.n_op_direct > 0).mean() > 0.95  # a few OPs answer only a commenter's follow-up
    assert att.dropped["comment_orphan_no_post"] > 0  # the API samples are fragmented
    assert not set(units.comment_author) & (raw_authors - {"[deleted]"})  # re-pseudonymised with our salt
    assert units.comment_id.is_unique


def test_shared_real_data_through_the_stages_and_the_data_card(shared_data, tmp_path, monkeypatch):
    import json

    from conftest import copy_pipeline, run_stage, write_params

    repo = copy_pipeline(tmp_path / "repo")
    paths = [str(shared_data / "red-mhs" / "*.ndjson"), str(shared_data / "reddit-api-samples" / "*.ndjson")]
    write_params(repo, {"collect": {"source": "dump", "dump": {"paths": paths, "root": str(shared_data)}},
                        "threads": {"filters": {"require_edited_post": False}}})
    monkeypatch.setenv("REDDITESS_SALT", "shared-data-test-0123456789")
    for stage, *args in (("collect",), ("threads",), ("label", "general_feedback"), ("label", "community"),
                         ("label", "op_reply"), ("aggregate",), ("datacard",)):
        run_stage(repo, stage, *args)
    card = json.loads((repo / "reports/datacard.json").read_text())
    lines = sum(1 for p in shared_data.glob("*/*.ndjson") for _ in open(p))
    assert sum(v for k, v in card["collected"].items() if k.startswith("lines_")) == lines
    att = card["attrition"]
    assert att["records_in"] == card["collected"]["submissions"] + card["collected"]["comments"]
    assert att["records_in"] == sum(v for k, v in att.items() if k.startswith(("kept_", "used_", "dropped_")))
    assert {r["subreddit"] for r in card["per_subreddit"]} >= {"MentalHealthSupport"}
    assert card["totals"]["comments"] == sum(r["comments"] for r in card["per_subreddit"]) > 300
    assert card["time_span"]["first_post"] is not None  # the API samples carry created_utc
    md = (repo / "reports/datacard.md").read_text()
    assert "| MentalHealthSupport |" in md and "## Attrition" in md
    # which signals this source showed, per era, and what each labeler abstained on
    assert {r["source"] for r in card["observability"]} == {"dump"}
    assert sum(r["units"] for r in card["observability"]) == card["totals"]["comments"]
    assert all(r["op_replies"] for r in card["observability"])
    # most units labeled, though a follow-up question or the OP's own distress abstains (label.op_reply)
    assert card["labelers"]["op_reply"]["observable"] and card["labelers"]["op_reply"]["abstain_share"] < 0.5
    assert "## Signals the source could observe" in md and "| op_reply | yes |" in md

