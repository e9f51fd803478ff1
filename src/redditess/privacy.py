"""Author pseudonyms and PII scrubbing of bodies.

Pseudonyms are a keyed hash (HMAC-SHA256) of the username with a secret salt read from the
environment; the salt is never written anywhere, so pseudonyms cannot be reversed by hashing a list
of usernames. The demo source's authors are simulated, so it may use a public salt.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

from redditess.runtime import InputError

DEMO_SALT = "redditess-demo-public-salt"
DELETED = {"[deleted]", "[removed]", ""}

_PATTERNS = [
    ("[EMAIL]", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("[URL]", re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)),
    ("[PHONE]", re.compile(r"(?<!\w)(?:\+?\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)|\d{2,4})[\s.-]?\d{3,4}[\s.-]?\d{3,4}(?!\w)")),
    ("[USER]", re.compile(r"(?<![\w/])/?u/[A-Za-z0-9_-]{3,20}")),
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
    """``u_<12 hex>`` for a real author; ``[deleted]`` stays ``[deleted]``."""
    if author is None or author in DELETED:
        return "[deleted]"
    digest = hmac.new(salt.encode(), author.encode(), hashlib.sha256).hexdigest()
    return "u_" + digest[:12]


def scrub(text: str) -> str:
    """Replace e-mails, URLs, phone numbers and u/ mentions by placeholders."""
    for placeholder, pattern in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text
