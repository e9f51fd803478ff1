from collections import Counter

from redditess.config import DemoConfig
from redditess.sources.demo import simulate


def test_same_seed_same_records_other_seed_other_records():
    cfg = DemoConfig(n_threads=40)
    a, b, c = simulate(cfg, 7), simulate(cfg, 7), simulate(cfg, 8)
    assert a == b
    assert a.submissions != c.submissions


def test_demo_threads_hold_what_the_filters_and_labelers_need():
    out = simulate(DemoConfig(n_threads=300), 1)
    kinds = Counter(t["kind"] for t in out.truth)
    assert {"matched", "wrong_kind", "generic", "everything", "dismissive", "cut_off", "bot", "spam"} <= set(kinds)
    assert {t["need"] for t in out.truth} == {"advice", "heard", "reassurance", "similar"}
    dims = Counter(d for t in out.truth for d in t["dimensions"])
    assert set(dims) == {"informational", "emotional", "esteem", "network", "tangible"}
    assert any(s["edited"] for s in out.submissions) and any(not s["edited"] for s in out.submissions)
    assert any("EDIT" in s["selftext"].upper() for s in out.submissions)
    assert any(s["selftext"] in ("[deleted]", "[removed]") for s in out.submissions)
    assert any(c["body"] in ("[deleted]", "[removed]") for c in out.comments)
    assert any("survey" in s["title"].lower() for s in out.submissions)
    # OP replies below the first level exist (post <- comment <- OP <- commenter <- OP).
    by_name = {c["name"]: c for c in out.comments}
    depth2 = [c for c in out.comments if c["parent_id"] in by_name and by_name[c["parent_id"]]["parent_id"] in by_name]
    assert any(c["is_submitter"] for c in depth2)
    # Pushshift shape.
    assert all(c["link_id"].startswith("t3_") and c["parent_id"][:3] in ("t1_", "t3_") for c in out.comments)
    assert len({c["id"] for c in out.comments}) == len(out.comments)
