"""Privacy at the source: every record is minimised, pseudonymised and scrubbed by the collect
stage, before anything is written, so no output of any stage holds a username or contact detail.

* **Minimise**: only the fields the study needs are kept (ids, times, scores, flags, texts);
  URLs, permalinks, media and flair are dropped.
* **Pseudonymise**: authors become ``u_`` + 12 hex of HMAC-SHA256(salt, username). The salt comes
  from an environment variable and is never written; without it a pseudonym cannot be reversed by
  hashing a list of usernames. The demo source's authors are simulated, so it may use a public salt.
* **Scrub**: scrubadub's detectors (e-mail, phone, URL, Twitter handle, credit card, credentials,
  SSN) and a regex net for what they miss (un-routable phone numbers, bare URLs, ``u/`` mentions).
  Names are not detected: the maintained detectors need a spaCy or NLTK model from the internet.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from functools import lru_cache

from redditess.runtime import InputError

DEMO_SALT = "redditess-demo-public-salt"
DELETED = {"[deleted]", "[removed]", ""}
TEXT_FIELDS = ("title", "selftext", "body")
KEEP_FIELDS = {
    "id", "name", "link_id", "parent_id", "subreddit", "subreddit_id", "author", "title", "selftext", "body",
    "created_utc", "retrieved_on", "score", "ups", "downs", "edited", "is_self", "num_comments", "over_18",
    "stickied", "distinguished", "is_submitter", "controversiality", "gilded", "score_hidden", "archived",
    "link_flair_text",
}

_NET = [
    ("{{EMAIL}}", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("{{URL}}", re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|org|net|io|co|me|ly|gg|tv|info)(?:/\S*)?\b", re.IGNORECASE)),
    ("{{PHONE}}", re.compile(r"(?<![\w{])(?:\+?\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)|\d{2,4})[\s.-]?\d{3,4}[\s.-]?\d{3,4}(?!\w)")),
    ("{{USERNAME}}", re.compile(r"(?<![\w/])/?u/[A-Za-z0-9_-]{3,20}")),
]


def salt_from_env(var: str, source: str) -> str:
    """The pseudonym salt: from ``var``; the demo source falls back to a public salt."""
    salt = os.environ.get(var)
    if salt:
        return salt
    if source == "demo":
        return DEMO_SALT
    raise InputError(
        f"{var} is not set: real Reddit data needs a secret salt to pseudonymise authors "
        f"(e.g. export {var}=$(python -c 'import secrets; print(secrets.token_hex(16))'))"
    )


def pseudonym(author: str | None, salt: str) -> str:
    """``u_<12 hex>`` for a real author; deleted authors stay ``[deleted]``."""
    if author is None or author in DELETED:
        return "[deleted]"
    digest = hmac.new(salt.encode(), author.encode(), hashlib.sha256).hexdigest()
    return "u_" + digest[:12]


@lru_cache(maxsize=1)
def _scrubber():
    import scrubadub

    return scrubadub.Scrubber()


def scrub(text: str) -> str:
    """Replace contact details and usernames by ``{{KIND}}`` placeholders."""
    if not text or text in DELETED:
        return text
    text = _scrubber().clean(text)
    for placeholder, pattern in _NET:
        text = pattern.sub(placeholder, text)
    return text


def anonymize(record: dict, salt: str, scrub_pii: bool) -> dict:
    """A minimised, pseudonymised, scrubbed copy of one Pushshift record."""
    out = {k: v for k, v in record.items() if k in KEEP_FIELDS}
    out["author"] = pseudonym(record.get("author"), salt)
    if scrub_pii:
        for key in TEXT_FIELDS:
            if isinstance(out.get(key), str):
                out[key] = scrub(out[key])
    return out
