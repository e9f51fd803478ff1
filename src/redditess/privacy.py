"""Privacy at the source: every record is minimised, pseudonymised and scrubbed by the collect
stage, before anything is written, so no output of any stage holds a username or contact detail.

* **Minimise**: only the fields the study needs are kept (ids, times, scores, flags, texts, the
  post's flair); URLs, permalinks, media and author flair are dropped.
* **Pseudonymise**: authors become ``u_`` + 12 hex of HMAC-SHA256(salt, username). The salt comes
  from an environment variable and is never written; without it a pseudonym cannot be reversed by
  hashing a list of usernames. The demo source's authors are simulated, so it may use a public salt.
  A keyed fingerprint of the salt (:func:`salt_fingerprint`) is recorded by collect and checked by
  every stage that pseudonymises, so a different salt cannot silently disable the bot filter.
* **Clean**: ANSI escapes and control characters are removed from every text; zero-width and bidi
  controls too (they hide nothing a reader sees, but split a handle so no pattern matches it).
* **Scrub**: detection runs on an NFKC-normalised copy (full-width ``＠``, ligatures, invisible
  characters), and each hit is replaced in the original text by a typed placeholder:

  ===============  ===========================================================================
  ``{{EMAIL}}``    addresses, also spelled ``name [at] host [dot] com``
  ``{{PHONE}}``    Google's ``phonenumbers`` matcher (US and UK numbering plans) plus a regex net
                   for unroutable numbers; crisis lines and toll-free numbers are kept (allow-list)
  ``{{ADDRESS}}``  ``pyap2`` (US/CA/UK postal addresses) plus a street-line rule (``12 Elm Street``)
  ``{{POSTCODE}}`` UK postcodes; US ZIP codes named as such (``zip code 12345``)
  ``{{IP}}``       IPv4 and IPv6 addresses (validated with :mod:`ipaddress`)
  ``{{DOB}}``      a full date stated as a date of birth (``born on``, ``DOB``, ``my birthday is``)
  ``{{USERNAME}}`` ``u/`` mentions and Reddit user links
  ``{{HANDLE}}``   ``@handles`` and Discord tags / usernames
  ``{{URL}}``      links that point at a person: social-media profiles, user pages, IP hosts;
                   links to public resources (a hotline's site, a video, Wikipedia) are kept
  ``{{CARD}}``     payment card numbers (Luhn-checked with ``python-stdnum``)
  ``{{SSN}}``      US social security numbers
  ``{{NAME}}``     self-stated names: ``my name is …``, ``call me …``, sign-offs (``- Sarah``)
  ===============  ===========================================================================

  Names anywhere else are not detected: no person-name NER model ships on the package registry
  with a clear provenance (spaCy's pipelines are distributed outside it), so this is a documented
  gap; to plug one in, add a detector returning ``(start, end, "{{NAME}}")`` spans to ``DETECTORS``.
  ``benchmarks/pii/`` (run by ``benchmarks/pii_benchmark.py``) measures every kind both ways
  (recall on planted items, changes to clean sentences and real texts); tests/test_privacy.py
  asserts the figures quoted in the README.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import itertools
import os
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

from redditess.runtime import InputError

DEMO_SALT = "redditess-demo-public-salt"
MIN_SALT_BYTES = 16
FINGERPRINT_MESSAGE = b"redditess salt fingerprint v1"
DELETED = {"[deleted]", "[removed]", ""}
TEXT_FIELDS = ("title", "selftext", "body", "link_flair_text")
KEEP_FIELDS = {
    "id", "name", "link_id", "parent_id", "subreddit", "subreddit_id", "author", "title", "selftext", "body",
    "created_utc", "retrieved_on", "score", "ups", "downs", "edited", "is_self", "num_comments", "over_18",
    "stickied", "distinguished", "is_submitter", "controversiality", "gilded", "score_hidden", "archived",
    "link_flair_text",
}


# --------------------------------------------------------------------------- salt
def salt_from_env(var: str, source: str) -> str:
    """The pseudonym salt: from ``var`` (at least 16 bytes for real data); the demo source falls
    back to a public salt."""
    salt = os.environ.get(var)
    if salt:
        if source != "demo" and len(salt.encode()) < MIN_SALT_BYTES:
            raise InputError(f"{var} is {len(salt.encode())} bytes: real data needs a secret salt of at least "
                             f"{MIN_SALT_BYTES} bytes (e.g. python -c 'import secrets; print(secrets.token_hex(16))')")
        return salt
    if source == "demo":
        return DEMO_SALT
    raise InputError(
        f"{var} is not set: real Reddit data needs a secret salt to pseudonymise authors "
        f"(e.g. export {var}=$(python -c 'import secrets; print(secrets.token_hex(16))'))"
    )


def salt_fingerprint(salt: str) -> str:
    """HMAC-SHA256(salt, a fixed message): tells two salts apart without revealing either."""
    return hmac.new(salt.encode(), FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()[:16]


def check_salt(salt: str, recorded: str | None, var: str, where: str) -> None:
    """Stop when ``salt`` is not the one whose fingerprint collect recorded in ``where``."""
    if recorded is None:
        raise InputError(f"{where}: no salt_fingerprint recorded; rerun collect (dvc repro collect)")
    if not hmac.compare_digest(salt_fingerprint(salt), recorded):
        raise InputError(f"{var} differs from the salt collect used ({where} salt_fingerprint {recorded}); "
                         f"set the same {var}, or rerun collect with this one")


def pseudonym(author: str | None, salt: str) -> str:
    """``u_<12 hex>`` for a real author; deleted authors stay ``[deleted]``."""
    if author is None or author in DELETED:
        return "[deleted]"
    digest = hmac.new(salt.encode(), author.encode(), hashlib.sha256).hexdigest()
    return "u_" + digest[:12]


# --------------------------------------------------------------------------- cleaning
ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Invisible format characters: zero-width, bidi embeddings/overrides/isolates, word joiners, BOM,
# soft hyphen. ZWJ (U+200D) joins emoji sequences, so it stays in the output (outside PII spans)
# but is ignored for detection like the others.
INVISIBLE = frozenset("\u00ad\u200b\u200c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064"
                      "\u2066\u2067\u2068\u2069\ufeff\u180e")
DETECTION_ONLY = frozenset("\u200d")


def clean_text(text: str) -> str:
    """Remove ANSI escape sequences, control characters (not tab/newline) and invisible format characters."""
    text = CONTROL.sub("", ANSI.sub("", text))
    return "".join(c for c in text if c not in INVISIBLE) if not text.isascii() else text


def _normalised(text: str) -> tuple[str, list[int] | None]:
    """NFKC copy of ``text`` without invisible characters, and for each of its characters the
    index of the original character it came from (None: the identity, for ASCII text)."""
    if text.isascii():
        return text, None
    out: list[str] = []
    index: list[int] = []
    for i, c in enumerate(text):
        if c in INVISIBLE or c in DETECTION_ONLY:
            continue
        n = unicodedata.normalize("NFKC", c) if ord(c) > 127 else c
        out.append(n)
        index.extend([i] * len(n))
    return "".join(out), index


# --------------------------------------------------------------------------- detectors
Span = tuple[int, int, str]
TLDS = r"(?:com|org|net|edu|gov|io|co|uk|me|ly|gg|tv|info|de|fr|ca|au|us|biz|xyz|app|dev|ru|in)"
# Bounded repeats and a start only at the beginning of a run: linear time on adversarial text.
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.[A-Za-z]{2,24}\b")
EMAIL_SPELLED = re.compile(
    rf"(?<![\w.+-])[\w.+-]{{1,64}}\s*(?:\[at\]|\(at\)|\{{at\}}|\s+at\s+)\s*[\w-]{{1,63}}\s*(?:\[dot\]|\(dot\)|\s+dot\s+|\.)\s*{TLDS}\b", re.I)
URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]{}\"']+|\b(?:[\w-]+\.)+" + TLDS + r"/[^\s<>()\[\]{}\"']*", re.I)
PERSON_URL = re.compile(
    r"(?:^|[/.])(?:facebook\.com|fb\.com|instagram\.com|twitter\.com|x\.com|tiktok\.com|snapchat\.com|linkedin\.com/in"
    r"|youtube\.com/(?:@|c/|channel/|user/)|twitch\.tv|onlyfans\.com|tumblr\.com|github\.com|medium\.com/@"
    r"|reddit\.com/(?:u|user)/|patreon\.com|venmo\.com|paypal\.me|cash\.app|discord(?:app)?\.com/users|t\.me)/?\S",
    re.I,
)
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)")
IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
PHONE_NET = re.compile(r"(?<![\w{])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)|\d{2,4})[\s.-]\d{3,4}[\s.-]?\d{3,4}(?![\w-])")
USERNAME = re.compile(r"(?<![\w/])/?u/[A-Za-z0-9_-]{3,20}")
AT_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_][A-Za-z0-9_.]{1,29}[A-Za-z0-9_]")
DISCORD_TAG = re.compile(r"(?<![\w#])[\w.]{2,32}#\d{4}\b")
DISCORD_NAMED = re.compile(
    r"\bdiscord(?:\s+(?:user(?:name)?|handle|tag|id|name))?\s*(?P<sep>:|-|is|=|\bat\b)\s*@?(?P<h>[A-Za-z0-9_.]{2,32})", re.I)
DISCORD_ADD = re.compile(r"\badd me on discord\s*[:\-]?\s*@?(?P<h>[A-Za-z0-9_.]{2,32})", re.I)
STREET_SUFFIX = (r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Place|Pl|Way|Close"
                 r"|Crescent|Cres|Terrace|Gardens|Grove|Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Row|Mews|Hill)")
STREET = re.compile(
    r"(?<![\w.,])\d{1,5}[A-Za-z]?,?\s+(?:[NSEW]\.?\s+)?(?:[A-Z][a-z']+\s+){1,3}" + STREET_SUFFIX + r"\b\.?"
    r"(?:,?\s+(?:Apt|Apartment|Flat|Unit|Suite|#)\.?\s*\w+)?")
STREET_NUMBER = re.compile(r"\d{1,5}[A-Za-z]?\b")
STREET_WORD = re.compile(r"\b[A-Z][a-z']+\s+" + STREET_SUFFIX + r"\b")
ADDRESS_END = re.compile(r"(?:\b[A-Z]{2}\s+\d{5}(?:-\d{4})?|\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|\b[A-Z]\d[A-Z]\s*\d[A-Z]\d)\s*$")
PYAP_WINDOWS = 32
POSTAL_TAIL = re.compile(r"\b(?:[A-Z]{2}\s+\d{5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|[A-Z]\d[A-Z]\s*\d[A-Z]\d)\b")
UK_POSTCODE = re.compile(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?|GIR)\s*\d[A-Z]{2}\b")
US_ZIP = re.compile(r"\b(?:zip(?:\s*code)?|postcode|postal code)\s*(?:is|:)?\s*(?P<z>\d{5}(?:-\d{4})?)\b", re.I)
MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
DATE = (rf"(?:\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?\s+{MONTH}\.?,?\s+\d{{2,4}}|{MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{2,4}}"
        r"|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{1,2}-\d{1,2})")
DOB = re.compile(rf"\b(?:born\s+(?:on\s+)?|d\.?o\.?b\.?\s*(?:is|:|-)?\s*|date\s+of\s+birth\s*(?:is|:|-)?\s*"
                 rf"|birth\s?day\s+(?:is\s+)?(?:on\s+)?)(?:the\s+)?(?P<d>{DATE})", re.I)
SSN = re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])")
CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
CAP = r"[A-Z][a-z]*(?:['’][A-Z][a-z]+|-[A-Z]?[a-z]+)*"
NAME_STATED = re.compile(
    rf"\b(?:my\s+name\s+is|my\s+name's|name's|i\s+am\s+called|i'm\s+called|call\s+me|my\s+friends\s+call\s+me)\s+"
    rf"(?P<n>{CAP}(?:\s+{CAP}){{0,2}})", re.I)
SIGN_OFF = re.compile(
    rf"(?:^|\n)[ \t]*(?:(?:[-–—~]+|(?:thanks|thank you|cheers|love|best|regards|sincerely|xoxo|xx|hugs|take care)"
    rf"[,!.]?)[ \t]*\n?[ \t]*)(?P<n>{CAP}(?:[ \t]+{CAP})?)[ \t]*[.!]?[ \t]*$", re.I)
NOT_NAMES = frozenset(
    "all everyone everybody guys you again friends friend reddit op god bye thanks thank love hope hugs man dude "
    "sorry please anyway anon anonymous me myself someone peace stay well hang good take care best luck yes no "
    "lol ok okay edit update wishes regards luck xx xoxo i".split())
AT_NOT_HANDLES = frozenset({"@everyone", "@here", "@channel", "@all"})

# Crisis and support lines are public numbers and the most useful text a support thread holds.
CRISIS_LINES = frozenset({
    "988", "911", "999", "112", "111", "116123", "116111", "741741", "85258", "686868", "13114", "131114",
    "+18002738255", "+18007842433", "+18004874889", "+18007994889", "+18664887386", "+18006564673",
    "+18778705574", "+18009506264", "+18006624357", "+18006564673", "+448457909090", "+448088008000",
    "+441161234", "+448000684141", "+448001111", "+18772738255", "+18882738255",
})
TOLL_FREE = re.compile(r"^\+1(?:800|888|877|866|855|844|833)\d{7}$")


def _email(text: str) -> list[Span]:
    if "@" not in text and " at " not in text.lower() and "[at]" not in text.lower() and "(at)" not in text.lower():
        return []
    spans = [(m.start(), m.end(), "{{EMAIL}}") for m in EMAIL.finditer(text)]
    return spans + [(m.start(), m.end(), "{{EMAIL}}") for m in EMAIL_SPELLED.finditer(text)
                    if re.search(r"\[at\]|\(at\)|\{at\}|\[dot\]|\(dot\)|\sdot\s|@", m.group(), re.I)
                    or "." in m.group()[m.group().lower().rfind(" at ") + 4:] and re.search(r"[\d_]", m.group())]


def _url_matches(text: str) -> list[re.Match]:
    if "/" not in text and "www" not in text.lower():
        return []
    return list(URL.finditer(text))


def _urls(text: str) -> list[Span]:
    out = []
    for m in _url_matches(text):
        url = m.group().rstrip(".,;:!?")
        host = re.sub(r"^(?:https?://)?(?:www\.|m\.|old\.|mobile\.)?", "", url, flags=re.I)
        hostname = host.split("/", 1)[0].split(":", 1)[0]
        if PERSON_URL.search("/" + host) or _is_ip(hostname) or "@" in url:
            out.append((m.start(), m.start() + len(url), "{{URL}}"))
    return out


def _is_ip(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return True


def _ips(text: str) -> list[Span]:
    out = [(m.start(), m.end(), "{{IP}}") for m in IPV4.finditer(text) if _is_ip(m.group())]
    if text.count(":") >= 2:
        out += [(m.start(), m.end(), "{{IP}}") for m in IPV6.finditer(text)
                if m.group().count(":") >= 2 and re.search(r"[0-9A-Fa-f]", m.group()) and _is_ip(m.group())]
    return out


def _phones(text: str) -> list[Span]:
    if sum(c.isdigit() for c in text) < 7:
        return []
    import phonenumbers

    out: list[Span] = []
    for region in ("US", "GB"):
        # POSSIBLE, not VALID: fictional and unassigned ranges (555-01xx, 07700 900xxx) are still
        # someone's way of writing a number; ten digits (or a + prefix) keep counts and years out.
        for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
            if sum(c.isdigit() for c in m.raw_string) < 10 and not m.raw_string.startswith("+"):
                continue
            e164 = phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164)
            if not _allowed_number(e164, m.raw_string):
                out.append((m.start, m.end, "{{PHONE}}"))
    for m in PHONE_NET.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 9 <= len(digits) <= 13 and not _allowed_number("+" + digits if m.group().startswith("+") else "+1" + digits[-10:],
                                                          m.group()) and not _looks_like_date(m.group()):
            out.append((m.start(), m.end(), "{{PHONE}}"))
    return out


def _allowed_number(e164: str, raw: str) -> bool:
    digits = re.sub(r"\D", "", raw)
    return e164 in CRISIS_LINES or digits in CRISIS_LINES or bool(TOLL_FREE.match(e164))


def _looks_like_date(s: str) -> bool:
    return bool(re.fullmatch(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}", s.strip()))


@lru_cache(maxsize=1)
def _pyap():
    import pyap

    return pyap


def _addresses(text: str) -> list[Span]:
    if not re.search(r"\d", text):
        return []
    out: list[Span] = [(m.start(), m.end(), "{{ADDRESS}}") for m in STREET.finditer(text)]
    # pyap is slow on long prose: run it only on the 160 characters before each postal-code-like
    # token (a postal address ends in one), with offsets shifted back
    # (at most PYAP_WINDOWS per text: a text listing hundreds of postcodes would take minutes; the
    # street-line and postcode rules above still cover all of it)
    for end_m in itertools.islice(POSTAL_TAIL.finditer(text), PYAP_WINDOWS):
        lo, hi = max(0, end_m.start() - 160), end_m.end()
        window = text[lo:hi]
        for country in ("US", "GB", "CA"):
            for a in _pyap().parse(window, country=country):
                start = window.find(a.full_address)
                if start < 0:
                    continue
                end = start + len(a.full_address)
                # pyap sometimes starts a UK match at the word before the house number
                lead = re.match(r"[A-Za-z]+\s+(?=\d)", window[start:end])
                start += lead.end() if lead else 0
                # pyap's looser patterns take prose ("3 interviews and the only place that ...") for a
                # street: keep a match only when it starts with a house number, names a street type
                # and ends in a postcode, ZIP or state, as a postal address does
                if STREET_NUMBER.match(window, start) and STREET_WORD.search(window, start, end) and ADDRESS_END.search(window[start:end]):
                    out.append((lo + start, lo + end, "{{ADDRESS}}"))
    out += [(m.start(), m.end(), "{{POSTCODE}}") for m in UK_POSTCODE.finditer(text)]
    out += [(m.start("z"), m.end("z"), "{{POSTCODE}}") for m in US_ZIP.finditer(text)]
    return out


def _handles(text: str) -> list[Span]:
    out: list[Span] = []
    if "@" in text:
        out += [(m.start(), m.end(), "{{HANDLE}}") for m in AT_HANDLE.finditer(text) if m.group().lower() not in AT_NOT_HANDLES]
    if "u/" in text:
        out += [(m.start(), m.end(), "{{USERNAME}}") for m in USERNAME.finditer(text)]
    if "#" in text:
        out += [(m.start(), m.end(), "{{HANDLE}}") for m in DISCORD_TAG.finditer(text)]
    if "discord" in text.lower():
        for m in DISCORD_NAMED.finditer(text):
            h = m.group("h")
            # After "my discord is" the next word is usually prose ("down", "great"): take it only
            # when it looks like a handle (digits, _ or . inside); after ":" or "username" take it.
            if m.group("sep").lower() in ("is", "at") and not re.search(r"[\d_.]", h.rstrip(".")):
                continue
            out.append((m.start("h"), m.start("h") + len(h.rstrip(".")), "{{HANDLE}}"))
        out += [(m.start("h"), m.start("h") + len(m.group("h").rstrip(".")), "{{HANDLE}}") for m in DISCORD_ADD.finditer(text)]
    return out


def _dob(text: str) -> list[Span]:
    low = text.lower()
    if "born" not in low and "birth" not in low and "dob" not in low and "d.o.b" not in low:
        return []
    return [(m.start("d"), m.end("d"), "{{DOB}}") for m in DOB.finditer(text)]


def _numbers(text: str) -> list[Span]:
    if sum(c.isdigit() for c in text) < 9:
        return []
    from stdnum import luhn

    out = [(m.start(), m.end(), "{{SSN}}") for m in SSN.finditer(text)]
    for m in CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
            out.append((m.start(), m.end(), "{{CARD}}"))
    return out


def _names(text: str) -> list[Span]:
    out: list[Span] = []
    for rx in (NAME_STATED, SIGN_OFF):
        for m in rx.finditer(text):
            end = None
            # stop at the first word that is not a name ("my name is Sam and ...", "Best Wishes")
            for w in re.finditer(r"\S+", m.group("n")):
                if w.group().lower() in NOT_NAMES or not w.group()[0].isupper():
                    break
                end = m.start("n") + w.end()
            if end is not None:
                out.append((m.start("n"), end, "{{NAME}}"))
    return out


DETECTORS: list[Callable[[str], list[Span]]] = [_email, _urls, _ips, _handles, _numbers, _dob, _phones, _addresses, _names]


def detect(text: str) -> list[Span]:
    """Non-overlapping ``(start, end, placeholder)`` spans of personal data in ``text`` (as given)."""
    spans = [s for det in DETECTORS for s in det(text)]
    # Inside a link kept as a public resource, ids and query strings are not personal data
    # (an Amazon product number is not a phone number): only the link's own verdict counts.
    kept_links = [(m.start(), m.end()) for m in _url_matches(text)]
    if kept_links:
        spans = [s for s in spans if s[2] == "{{URL}}" or not any(a <= s[0] < b for a, b in kept_links)]
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    merged: list[Span] = []
    for s in spans:
        if s[1] <= s[0]:
            continue
        if merged and s[0] < merged[-1][1]:
            if s[1] > merged[-1][1]:  # overlapping hits of two kinds: cover both with the first kind
                merged[-1] = (merged[-1][0], s[1], merged[-1][2])
            continue
        merged.append(s)
    return merged


def scrub(text: str) -> str:
    """Clean ``text`` and replace its personal data by typed ``{{KIND}}`` placeholders."""
    if not text or text in DELETED:
        return text
    text = clean_text(text)
    norm, index = _normalised(text)
    spans = detect(norm)
    if not spans:
        return text
    if index is not None:  # back to positions in the original text
        spans = [(index[a], index[b - 1] + 1, kind) for a, b, kind in spans]
    out, pos = [], 0
    for a, b, kind in spans:
        if a < pos:
            continue
        out.append(text[pos:a])
        out.append(kind)
        pos = b
    out.append(text[pos:])
    return "".join(out)


def anonymize(record: dict, salt: str, scrub_pii: bool) -> dict:
    """A minimised, pseudonymised, cleaned and scrubbed copy of one Pushshift record."""
    out = {k: v for k, v in record.items() if k in KEEP_FIELDS}
    out["author"] = pseudonym(record.get("author"), salt)
    for key, value in out.items():
        if isinstance(value, str):
            out[key] = scrub(value) if scrub_pii and key in TEXT_FIELDS else clean_text(value)
    return out
