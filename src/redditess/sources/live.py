"""Live collection through the Reddit API with praw (read-only, client-credentials flow).

Two modes, both converting praw objects to the Pushshift shape the dump source produces:

* **listing**: walk each subreddit's ``new``/``hot``/``top`` listing and every post's comment tree
  (``replace_more`` bounded; the comments left behind unexpanded are counted, never silently lost).
  Progress is journaled post by post under ``collect.praw.state_dir``, in a file keyed by the API
  address, the subreddits and the listing params, so a killed run resumes where it stopped without
  fetching a finished post again, and a changed source or configuration starts afresh.
* **rehydrate** (``collect.praw.rehydrate``, ids in ``collect.praw.ids_file``): fetch the current
  version of published thread and comment ids and report what became of each (deleted, removed,
  edited since, unchanged, missing).

Rate limits: praw paces requests from Reddit's rate-limit headers; on top of that every request
is retried with exponential back-off and full jitter on 429, 5xx and connection errors.
Credentials come from the environment variables named in params, never from params themselves.
What cannot be retried away (refused credentials, an unknown or private subreddit, a server still
unreachable after the retries) becomes one :class:`RedditError` line naming the cause.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tqdm import tqdm

from redditess.config import PrawConfig
from redditess.runtime import InputError

log = logging.getLogger(__name__)
T = TypeVar("T")
DELETED_BODIES = {"[deleted]", "[removed]"}


REDDIT_API = "https://oauth.reddit.com"
REDDIT_WWW = "https://www.reddit.com"


class CredentialsError(InputError):
    """A required environment variable is not set."""


class RedditError(InputError):
    """The API refused or could not serve what collect needs; the message names the cause."""


def api_address(cfg: PrawConfig) -> str:
    return (cfg.api_url or REDDIT_API).rstrip("/")


def _retries(n: int) -> str:
    return f"{n} retry" if n == 1 else f"{n} retries"


def _cause(exc) -> str:
    original = getattr(exc, "original_exception", None)
    return f"{type(original).__name__}" if original is not None else type(exc).__name__


@contextlib.contextmanager
def explained(cfg: PrawConfig, subreddit: str | None = None):
    """Turn what the retries cannot fix into one line naming the cause (variables, subreddit, URL)."""
    import prawcore

    try:
        yield
    except prawcore.exceptions.Redirect:
        raise RedditError(f"r/{subreddit}: no such subreddit at {api_address(cfg)} (the API redirected to its "
                          f"search; check collect.praw.subreddits)") from None
    except prawcore.exceptions.NotFound as exc:
        what = f"r/{subreddit}" if subreddit else "request"
        raise RedditError(f"{what}: not found at {api_address(cfg)} (HTTP 404 for {exc.response.url}; the subreddit "
                          f"may be banned or misspelled)") from None
    except prawcore.exceptions.OAuthException as exc:
        raise RedditError(f"{api_address(cfg)} refused the Reddit API credentials in {cfg.client_id_env} and "
                          f"{cfg.client_secret_env} ({exc.error})") from None
    except (prawcore.exceptions.Forbidden, prawcore.exceptions.InvalidToken, prawcore.exceptions.ResponseException) as exc:
        status = getattr(exc.response, "status_code", 0)
        url = str(getattr(exc.response, "url", ""))
        if "access_token" in url:
            raise RedditError(f"{api_address(cfg)} refused the Reddit API credentials in {cfg.client_id_env} and "
                              f"{cfg.client_secret_env} (HTTP {status} from the token endpoint)") from None
        if status == 403 and subreddit:
            raise RedditError(f"r/{subreddit}: access denied at {api_address(cfg)} (HTTP 403: the subreddit is private, "
                              f"quarantined or banned)") from None
        if status == 401:
            raise RedditError(f"{api_address(cfg)} rejected the token obtained with {cfg.client_id_env} and "
                              f"{cfg.client_secret_env} (HTTP 401 for {url})") from None
        retried = status == 429 or status >= 500  # what with_backoff retries
        raise RedditError(f"{api_address(cfg)}: HTTP {status} for {url}"
                          + (f" after {_retries(cfg.max_retries)}" if retried else "")) from None
    except prawcore.exceptions.RequestException as exc:
        raise RedditError(f"cannot reach the Reddit API at {api_address(cfg)} after {_retries(cfg.max_retries)} "
                          f"({_cause(exc)}; check collect.praw.api_url and the network)") from None


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
    """Build a read-only praw client for ``collect.praw.api_url`` (``endpoint`` may override
    ``oauth_url``/``reddit_url``). Keyword arguments, because praw 8 ignores ``praw_*`` variables."""
    missing = [v for v in (cfg.client_id_env, cfg.client_secret_env) if not os.environ.get(v)]
    if missing:
        raise CredentialsError(f"collect.source=praw needs Reddit API credentials: set {' and '.join(missing)}")
    import praw  # imported here: the offline profile never pays for it

    return praw.Reddit(
        client_id=os.environ[cfg.client_id_env],
        client_secret=os.environ[cfg.client_secret_env],
        user_agent=cfg.user_agent,
        check_for_updates=False,
        **{**({"oauth_url": cfg.api_url.rstrip("/"), "reddit_url": cfg.api_url.rstrip("/")} if cfg.api_url else {}),
           **endpoint},
    )


def with_backoff(call: Callable[[], T], cfg: PrawConfig, what: str, rng: random.Random) -> T:
    """Run ``call``; on 429, 5xx or a connection error wait ``U(0, base * 2**attempt)`` and retry."""
    import prawcore

    for attempt in range(cfg.max_retries + 1):
        try:
            return call()
        except (prawcore.exceptions.TooManyRequests, prawcore.exceptions.ServerError,
                prawcore.exceptions.RequestException) as exc:
            if attempt == cfg.max_retries:
                raise
            delay = rng.uniform(0, cfg.backoff_seconds * 2**attempt)
            log.warning("%s: %s; retry %d/%d in %.2fs", what, type(exc).__name__, attempt + 1, cfg.max_retries, delay)
            time.sleep(delay)
        except prawcore.exceptions.ResponseException as exc:
            status = getattr(exc.response, "status_code", 0)
            if status < 500 and status != 429 or attempt == cfg.max_retries:
                raise
            delay = rng.uniform(0, cfg.backoff_seconds * 2**attempt)
            log.warning("%s: HTTP %s; retry %d/%d in %.2fs", what, status, attempt + 1, cfg.max_retries, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


def journal_path(cfg: PrawConfig, reddit=None) -> Path:
    """Where this source's and configuration's progress is journaled: one file per API address,
    subreddits and listing params, so a changed source or setting never reuses another's posts."""
    source = getattr(getattr(reddit, "config", None), "oauth_url", None) or api_address(cfg)
    key = json.dumps([source.rstrip("/"), sorted(cfg.subreddits), cfg.listing, cfg.time_filter, cfg.limit,
                      cfg.replace_more_limit])
    return Path(cfg.state_dir) / f"listing-{hashlib.sha256(key.encode()).hexdigest()[:16]}.jsonl"


def _read_journal(path: Path) -> dict[str, dict]:
    """Finished posts by id (a post whose line a kill cut short is fetched again)."""
    from redditess.io import read_journal

    return {entry["post"]["id"]: entry for entry in read_journal(path)}


def _unexpanded(more) -> int:
    """Comments one MoreComments stands for (a 'continue this thread' link counts as one: Reddit
    does not say how many)."""
    return max(int(getattr(more, "count", 0) or 0), len(getattr(more, "children", []) or []), 1)


def collect_live(cfg: PrawConfig, seed: int, reddit=None) -> tuple[list[dict], list[dict], Counter]:
    """Walk each subreddit's listing and every post's comment tree, resuming from the journal.
    Returns (submissions, comments, counts) for the posts the listings give now; ``counts`` has
    ``unexpanded_comments``: comments left behind ``replace_more_limit`` (not collected)."""
    from praw.models import MoreComments

    reddit = reddit or make_reddit(cfg)
    rng = random.Random(seed)
    journal = journal_path(cfg, reddit)
    journal.parent.mkdir(parents=True, exist_ok=True)
    done = _read_journal(journal)
    if done:
        log.info("praw: resuming, %d posts already collected (%s)", len(done), journal)
    listed: list[str] = []
    with open(journal, "a", encoding="utf-8") as out:
        for name in cfg.subreddits:

            def fetch_listing(name=name):
                subreddit = reddit.subreddit(name)
                if cfg.listing == "top":
                    return list(subreddit.top(time_filter=cfg.time_filter, limit=cfg.limit))
                return list(getattr(subreddit, cfg.listing)(limit=cfg.limit))

            with explained(cfg, name):
                posts = with_backoff(fetch_listing, cfg, f"r/{name} {cfg.listing}", rng)
            for s in tqdm(posts, desc=f"r/{name}", unit="post"):
                listed.append(s.id)
                if s.id in done:
                    continue

                def fetch(s=s):
                    left = s.comments.replace_more(limit=cfg.replace_more_limit)
                    comments = [comment_record(c) for c in s.comments.list() if not isinstance(c, MoreComments)]
                    return comments, sum(_unexpanded(m) for m in left)

                with explained(cfg):
                    comments, unexpanded = with_backoff(fetch, cfg, f"post {s.id}", rng)
                entry = {"post": submission_record(s), "comments": comments, "unexpanded": unexpanded}
                out.write(json.dumps(entry, sort_keys=True) + "\n")
                out.flush()
                os.fsync(out.fileno())
                done[s.id] = entry
    entries = [done[i] for i in dict.fromkeys(listed)]
    submissions = {e["post"]["id"]: e["post"] for e in entries}
    comments = {c["id"]: c for e in entries for c in e["comments"]}
    counts = Counter(unexpanded_comments=sum(e.get("unexpanded", 0) for e in entries))
    counts["posts_with_unexpanded_comments"] = sum(1 for e in entries if e.get("unexpanded", 0))
    log.info("praw: %d submissions, %d comments", len(submissions), len(comments))
    if counts["unexpanded_comments"]:
        log.warning("praw: %d comments under %d posts were left unexpanded by collect.praw.replace_more_limit=%s "
                    "and are not collected (raise the limit to fetch them)", counts["unexpanded_comments"],
                    counts["posts_with_unexpanded_comments"], cfg.replace_more_limit)
    return list(submissions.values()), list(comments.values()), counts


def read_ids_file(path: Path) -> list[tuple[str, str | None]]:
    """``fullname[<TAB>sha256 of the published body]`` per line -> [(fullname, hash or None)]."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"collect.praw.ids_file: {path} not found") from None
    out = []
    for lineno, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fullname, _, digest = line.partition("\t")
        if not fullname.startswith(("t1_", "t3_")):
            raise InputError(f"{path}:{lineno}: expected a fullname (t3_<post id> or t1_<comment id>), got {fullname!r}")
        out.append((fullname, digest.strip() or None))
    return out


def body_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rehydrate(cfg: PrawConfig, seed: int, reddit=None) -> tuple[list[dict], list[dict], Counter]:
    """Fetch the current version of every published id; never fail on a missing item."""
    reddit = reddit or make_reddit(cfg)
    rng = random.Random(seed)
    wanted = read_ids_file(Path(cfg.ids_file))
    found: dict[str, object] = {}
    for start in tqdm(range(0, len(wanted), 100), desc="rehydrate", unit="batch"):
        batch = [f for f, _ in wanted[start:start + 100]]
        with explained(cfg):
            items = with_backoff(lambda batch=batch: list(reddit.info(fullnames=batch)), cfg, "info", rng)
        found.update({item.fullname: item for item in items})
    status: Counter = Counter()
    submissions, comments = [], []
    for fullname, digest in wanted:
        item = found.get(fullname)
        if item is None:
            status["missing"] += 1
            continue
        is_post = fullname.startswith("t3_")
        rec = submission_record(item) if is_post else comment_record(item)
        body = rec["selftext"] if is_post else rec["body"]
        if body == "[removed]":
            status["removed"] += 1
        elif body == "[deleted]" or rec["author"] == "[deleted]":
            status["deleted"] += 1
        elif (digest is not None and body_hash(body) != digest) or (digest is None and rec["edited"]):
            status["edited_since"] += 1
        else:
            status["unchanged"] += 1
        (submissions if is_post else comments).append(rec)
    return submissions, comments, status
