"""Live collection through the Reddit API with praw (read-only, client-credentials flow).

Credentials come from the environment variables named in params (never from params themselves).
Records are converted to the same Pushshift shape the dump source produces, so every later stage
is source-agnostic.
"""

from __future__ import annotations

import logging
import os

from tqdm import tqdm

from redditess.config import PrawConfig
from redditess.runtime import InputError

log = logging.getLogger(__name__)


class CredentialsError(InputError):
    """A required environment variable is not set."""


def _name(author) -> str:
    return "[deleted]" if author is None else str(getattr(author, "name", author))


def _edited(value):
    return False if not value else int(value)


def submission_record(s) -> dict:
    return {
        "id": s.id, "name": f"t3_{s.id}", "author": _name(s.author), "title": s.title,
        "selftext": s.selftext, "subreddit": str(s.subreddit), "created_utc": int(s.created_utc),
        "score": int(s.score), "edited": _edited(s.edited), "is_self": bool(s.is_self),
        "num_comments": int(s.num_comments), "over_18": bool(s.over_18), "stickied": bool(s.stickied),
        "permalink": s.permalink, "url": s.url,
    }


def comment_record(c) -> dict:
    return {
        "id": c.id, "name": f"t1_{c.id}", "link_id": c.link_id, "parent_id": c.parent_id,
        "author": _name(c.author), "body": c.body, "subreddit": str(c.subreddit),
        "created_utc": int(c.created_utc), "score": int(c.score), "edited": _edited(c.edited),
        "is_submitter": bool(getattr(c, "is_submitter", False)), "distinguished": c.distinguished,
    }


def make_reddit(cfg: PrawConfig, **endpoint):
    """Build a read-only praw client; ``endpoint`` may override ``oauth_url``/``reddit_url``."""
    missing = [v for v in (cfg.client_id_env, cfg.client_secret_env) if not os.environ.get(v)]
    if missing:
        raise CredentialsError(
            f"collect.source=praw needs Reddit API credentials: set {' and '.join(missing)}"
        )
    import praw  # imported here: the offline profile never pays for it

    return praw.Reddit(
        client_id=os.environ[cfg.client_id_env],
        client_secret=os.environ[cfg.client_secret_env],
        user_agent=cfg.user_agent,
        check_for_updates=False,
        **endpoint,
    )


def collect_live(cfg: PrawConfig, reddit=None) -> tuple[list[dict], list[dict]]:
    """Walk each subreddit's listing and every post's full comment tree."""
    reddit = reddit or make_reddit(cfg)
    submissions: dict[str, dict] = {}
    comments: dict[str, dict] = {}
    for name in cfg.subreddits:
        subreddit = reddit.subreddit(name)
        if cfg.listing == "top":
            listing = subreddit.top(time_filter=cfg.time_filter, limit=cfg.limit)
        else:
            listing = getattr(subreddit, cfg.listing)(limit=cfg.limit)
        for s in tqdm(listing, total=cfg.limit, desc=f"r/{name}", unit="post"):
            submissions[s.id] = submission_record(s)
            s.comments.replace_more(limit=cfg.replace_more_limit)
            for c in s.comments.list():
                comments[c.id] = comment_record(c)
    log.info("praw: %d submissions, %d comments", len(submissions), len(comments))
    return list(submissions.values()), list(comments.values())
