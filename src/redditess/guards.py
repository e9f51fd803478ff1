"""Stops for degenerate data: a stage that received zero rows or a single class ends with one line
naming the upstream cause (the filter that removed most, the labeler that abstained on all)
instead of a traceback or an empty artifact a later stage would take as done."""

from __future__ import annotations

from redditess.runtime import InputError

FILTER_KEYS = {
    "subreddit_excluded": "threads.filters.subreddits",
    "deleted_or_removed": "threads.filters.drop_deleted_posts",
    "bot": "threads.filters.drop_bots",
    "survey_or_recruitment": "threads.filters.drop_surveys",
    "not_edited": "threads.filters.require_edited_post",
    "too_few_op_replies": "threads.filters.min_op_replies",
}
"""Post-level drop reasons of the threads stage and the param that controls each."""


def top_post_filter(attrition: dict[str, int]) -> tuple[str, int, int] | None:
    """(reason, posts it removed, posts dropped in all) of the filter that removed most posts."""
    posts = {k.removeprefix("dropped_post_"): v for k, v in attrition.items() if k.startswith("dropped_post_")}
    if not posts:
        return None
    reason = max(sorted(posts), key=posts.get)
    return reason, posts[reason], sum(posts.values())


def require_threads(n_posts: int, n_units: int, attrition: dict[str, int]) -> None:
    """Stop the threads stage when it kept no post or no unit, naming the filter that removed most."""
    if n_posts and n_units:
        return
    records = attrition.get("records_in", 0)
    if not records:
        raise InputError("threads: data/raw holds no records (collect kept none; see metrics/collect.json)")
    top = top_post_filter(attrition)
    what = "posts" if not n_posts else "top-level comments (units)"
    if top is None:
        comments = {k.removeprefix("dropped_comment_"): v for k, v in attrition.items() if k.startswith("dropped_comment_")}
        worst = max(sorted(comments), key=comments.get) if comments else "none"
        raise InputError(f"threads: 0 {what} kept from {records} records; most comments dropped as '{worst}'")
    reason, removed, dropped = top
    key = FILTER_KEYS.get(reason, "threads.filters")
    raise InputError(f"threads: 0 {what} kept from {records} records; filter '{reason}' ({key}) removed "
                     f"{removed} of the {dropped} posts dropped")


def require_units(n_units: int, stage: str, path: str = "data/threads.parquet") -> None:
    if not n_units:
        raise InputError(f"{stage}: {path} holds 0 units (the threads stage kept none; see reports/threads.md)")


def require_pairs(n_train: int, n_test: int, stage: str) -> None:
    """Stop a preference-pair stage that received no training or test pair."""
    for n, name in ((n_train, "train"), (n_test, "test")):
        if not n:
            raise InputError(f"{stage}: data/split/pairs_{name}.parquet holds 0 pairs (no post of the {name} split has both "
                             "an effective and an ineffective comment; for dyadic threads set split.cross_post_pairs: true)")


def abstention_line(shares: dict[str, float]) -> str:
    return ", ".join(f"{name} {share:.0%}" for name, share in sorted(shares.items()))


def require_per_class(labels, minimum: int, stage: str, what: str, model: str) -> None:
    """Stop when ``labels`` (0/1) hold fewer than ``minimum`` of either class: a model that learns
    from them would train on a handful of one class (the real threads: 1 "not effective" comment of
    48) and its metrics would read as a finding. Names the shortfall and the param."""
    values = [int(v) for v in labels]
    counts = {"effective": sum(values), "not effective": len(values) - sum(values)}
    short = {k: n for k, n in counts.items() if n < minimum}
    if short:
        name, n = min(short.items(), key=lambda kv: kv[1])
        raise InputError(f"{stage}: {what} holds {n} '{name}' comment(s) of {len(values)} for the {model}, fewer than "
                         f"split.min_per_class = {minimum} (more data, a larger share for it, or a lower split.min_per_class)")


def require_two_classes(labels, stage: str, what: str, cause: str) -> None:
    """Stop when ``labels`` (0/1, NA dropped by the caller) is empty or holds one class."""
    values = {int(v) for v in labels}
    if not values:
        raise InputError(f"{stage}: {what} holds no labeled comment ({cause})")
    if len(values) == 1:
        name = "effective" if values == {1} else "ineffective"
        raise InputError(f"{stage}: every labeled comment in {what} is {name} ({len(labels)}); "
                         f"training needs both classes ({cause})")
