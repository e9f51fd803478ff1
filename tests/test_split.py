import pandas as pd

from redditess.config import SplitConfig
from redditess.split import preference_pairs, split_posts


def _ens(n_posts=60):
    rows = []
    for p in range(n_posts):
        for c in range(4):
            rows.append(dict(post_id=f"p{p:03d}", comment_id=f"p{p}c{c}", label=[1, 0, 1, None][(p + c) % 4] if p % 5 else 1,
                             comment_body=f"body {p} {c}", post_title="t", post_body="b"))
    df = pd.DataFrame(rows)
    df["label"] = df.label.astype("Int8")
    return df


def test_split_is_by_post_seeded_and_close_to_fractions():
    ens = _ens()
    a = split_posts(ens, SplitConfig(train=0.7, val=0.1), seed=1)
    assert a.equals(split_posts(ens, SplitConfig(train=0.7, val=0.1), seed=1))
    assert not a.equals(split_posts(ens, SplitConfig(train=0.7, val=0.1), seed=2))
    assert a.index.is_unique and set(a) == {"train", "val", "test"}
    counts = a.value_counts(normalize=True)
    assert abs(counts["train"] - 0.7) < 0.06 and abs(counts["val"] - 0.1) < 0.06


def test_pairs_are_same_post_effective_over_ineffective():
    ens = _ens()
    labeled = ens[ens.label.notna()]
    pairs = preference_pairs(labeled, max_per_post=1, seed=0)
    assert len(pairs) == pairs.post_id.nunique()
    by_id = labeled.set_index("comment_id")
    assert (by_id.loc[pairs.chosen_id, "label"].to_numpy() == 1).all()
    assert (by_id.loc[pairs.rejected_id, "label"].to_numpy() == 0).all()
    assert (by_id.loc[pairs.chosen_id, "post_id"].to_numpy() == pairs.post_id.to_numpy()).all()


def test_impossible_fractions_name_the_keys():
    import pytest

    from redditess.runtime import InputError

    with pytest.raises(InputError, match="split.train and split.val"):
        split_posts(_ens(), SplitConfig(train=0.8, val=0.3), seed=1)


def test_dyadic_threads_get_cross_post_pairs_only_when_asked():
    # one comment per post: no same-post pair exists
    rows = pd.DataFrame({"post_id": [f"p{i}" for i in range(6)], "comment_id": [f"c{i}" for i in range(6)],
                         "label": pd.array([1, 1, 0, 1, 0, 1], dtype="Int8"), "comment_body": [f"body {i}" for i in range(6)],
                         "post_title": "t", "post_body": [f"post {i}" for i in range(6)]})
    assert preference_pairs(rows, 8, seed=1).empty
    pairs = preference_pairs(rows, 8, seed=1, cross_post=True)
    assert pairs.post_id.tolist() == ["p0", "p1", "p3", "p5"]  # every effective comment, once
    assert set(pairs.rejected_id) <= {"c2", "c4"} and (pairs.chosen_id.str[1:] == pairs.post_id.str[1:]).all()
    assert pairs.prompt.tolist() == ["t\npost 0", "t\npost 1", "t\npost 3", "t\npost 5"]  # the chosen's post
    assert pairs.equals(preference_pairs(rows, 8, seed=1, cross_post=True))  # seeded


def test_policy_first_judge_and_second_judge_posts_are_pairwise_disjoint_and_seeded():
    from redditess.split import judge_posts, second_judge_posts

    a = split_posts(_ens(), SplitConfig(train=0.7, val=0.1), seed=1)
    train = sorted(a.index[a == "train"])
    first = judge_posts(train, 0.5, seed=2)
    second = second_judge_posts(train, first, 0.2, seed=3)
    policy = set(train) - first - second
    assert first and second and policy
    assert not first & second and not first & policy and not second & policy
    assert len(second) == round(0.2 * len(train))
    assert second == second_judge_posts(train, first, 0.2, seed=3)
    assert second != second_judge_posts(train, first, 0.2, seed=4)
    assert second_judge_posts(train, first, 0.0, seed=3) == set()


def test_duplicate_groups_join_posts_that_share_a_text_exactly_or_nearly():
    from redditess.dedup import duplicate_groups

    long = "have you looked into a sleep clinic it was made for exactly this and it helped a friend of mine"
    posts = ["a", "b", "c", "d", "e", "f"]
    texts = [long.upper() + "!",                       # a: the same text as b after normalisation
             long,                                     # b
             long.replace("a friend of mine", "my friend"),  # c: a near duplicate of b (Jaccard >= 0.8)
             "something else entirely about grief and losing your mum last winter",  # d: its own
             "thank you",                              # e, f: too short to group
             "thank you"]
    groups, counts = duplicate_groups(posts, texts, threshold=0.7, min_words=3, seed=1)
    assert groups["a"] == groups["b"] == groups["c"] == "a"
    assert groups["d"] == "d" and groups["e"] == "e" and groups["f"] == "f"
    assert counts["dedup_exact_links"] == 1 and counts["dedup_near_links"] == 1 and counts["dedup_short_texts"] == 2
    assert counts["dedup_merged_groups"] == 1 and counts["dedup_largest_group_posts"] == 3
    # exact duplicates only at threshold 1; the same answer on every run and whatever the order of the rows
    assert duplicate_groups(posts, texts, threshold=1.0, min_words=3, seed=1)[0]["c"] == "c"
    assert duplicate_groups(posts[::-1], texts[::-1], threshold=0.7, min_words=3, seed=1)[0] == groups


def test_a_duplicate_group_never_spans_two_splits():
    from redditess.split import judge_posts, second_judge_posts

    ens = _ens(80)
    groups = {f"p{p:03d}": f"p{p - p % 4:03d}" for p in range(80)}  # posts in groups of four
    a = split_posts(ens, SplitConfig(train=0.7, val=0.1), seed=1, groups=groups)
    assert (pd.DataFrame({"split": a, "group": a.index.map(groups)}).groupby("group").split.nunique() == 1).all()
    train = sorted(a.index[a == "train"])
    first = judge_posts(train, 0.5, seed=2, groups=groups)
    second = second_judge_posts(train, first, 0.2, seed=3, groups=groups)
    for held in (first, second):
        assert all(all(q in held for q in train if groups[q] == groups[p]) for p in held)  # whole groups


def test_a_training_split_short_of_one_class_stops_with_one_line_naming_it():
    import pytest

    from redditess.guards import require_per_class
    from redditess.runtime import InputError

    require_per_class([1] * 20 + [0] * 5, 5, "split", "the train split", "reward model and DPO")  # enough of each
    with pytest.raises(InputError) as err:
        require_per_class([1] * 47 + [0], 5, "split", "the judge_train split", "classifier (the evaluation judge)")
    msg = str(err.value)
    assert "\n" not in msg and "judge_train" in msg and "1 'not effective' comment(s) of 48" in msg
    assert "split.min_per_class = 5" in msg and "classifier" in msg


def test_the_real_threads_fall_short_of_the_default_minimum_which_the_real_profile_lowers_on_purpose():
    """The committed real/ split (all of ../shared/data) holds about one "not effective" comment per
    training split: the default would stop it, so profiles/real.yaml sets 1 and says why."""
    import json

    import yaml

    from conftest import ROOT

    split = json.loads((ROOT / "real/metrics/split.json").read_text())
    default = yaml.safe_load((ROOT / "params.yaml").read_text())["split"]["min_per_class"]
    real = yaml.safe_load((ROOT / "real/params.yaml").read_text())["split"]["min_per_class"]
    assert default == SplitConfig().min_per_class == 5 and real == 1
    assert min(split["judge_train_not_effective_comments"], split["train_not_effective_comments"]) < default
    assert min(split["judge_train_not_effective_comments"], split["train_not_effective_comments"]) >= real
    assert "min_per_class: 1" in (ROOT / "profiles/real.yaml").read_text()
