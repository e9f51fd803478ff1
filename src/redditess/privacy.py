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

  =================  ===========================================================================
  ``{{EMAIL}}``      addresses, also spelled ``name [at] host [dot] com``
  ``{{PHONE}}``      Google's ``phonenumbers`` matcher (US and UK numbering plans) plus a regex net
                     for unroutable numbers; crisis lines and toll-free numbers are kept (allow-list)
  ``{{ADDRESS}}``    ``pyap2`` (US/CA/UK postal addresses) plus a street-line rule (``12 Elm Street``)
  ``{{POSTCODE}}``   UK postcodes; US ZIP codes named as such (``zip code 12345``)
  ``{{IP}}``         IPv4 and IPv6 addresses (validated with :mod:`ipaddress`)
  ``{{DOB}}``        a full date stated as a date of birth (``born on``, ``DOB``, ``my birthday is``)
  ``{{USERNAME}}``   ``u/`` mentions and Reddit user links
  ``{{HANDLE}}``     ``@handles`` and Discord tags / usernames
  ``{{URL}}``        links that point at a person: social-media profiles, user pages, IP hosts;
                     links to public resources (a hotline's site, a video, Wikipedia) are kept
  ``{{CARD}}``       payment card numbers (Luhn-checked with ``python-stdnum``)
  ``{{SSN}}``        US social security numbers: dashed; spaced or dotted (``123 45 6789``) when the
                     SSA could issue them (area not 000/666/9xx, group not 00, serial not 0000); nine
                     bare digits right after "SSN" / "social security"
  ``{{NAME}}``       people's names, see below
  ``{{SUBREDDIT}}``  a subreddit that is not public (see below), named ``r/x`` or linked
  =================  ===========================================================================

  Links to a Reddit post or comment (``reddit.com/r/x/comments/...``, ``redd.it/...``) become
  ``{{URL}}``: the post's author is one click away, as with the permalinks minimisation drops.

  **Names** come from context patterns plus a maintained name list. *Strong* contexts say a name
  follows and take any capitalised word (lower case too when it is a listed name): ``my name is``,
  ``my name's``, ``call me``, ``I go by``, ``people know me as``, and sign-offs (a dash or a closing
  word - thanks, love, cheers, xoxo, take care, ... - then the name as the last line, or the last
  words of the text; trailing ``EDIT:``/``P.S.`` lines allowed). *Weak* contexts only make a name
  likely: ``I'm``/``I am``/``im``, ``it's me,``, ``this is`` at a sentence start, ``... here`` at a
  sentence start, ``named``/``called``, ``my sister/boyfriend/therapist/...``, and a bare last line
  after a blank one. There the word must be on the first-name list, capitalised, and not also an
  everyday English word - unless an age/sex tag follows it (``I'm Will, 19M``). The list is the
  union of the first names of Faker's person providers in ``collect.privacy.name_locales`` (16
  locales, about 5,800 names, Latin script); the everyday words it must not be are Faker's lorem
  list, VADER's lexicon and ``COMMON_WORDS`` (list names found used as ordinary words: Hope, Will,
  Mark, Grace, ...). So "I'm Sorry", "I'm not sure", "I'm Christian" and "Mom here" keep their words.
  Why a list, not an NER model: no person-name NER model installs from PyPI with a clear provenance
  (spaCy's pipelines are distributed outside it; the PyPI copies are third-party re-uploads), and
  hub models (Flair, GLiNER, BERT NER) download weights at run time, which the default profile never
  does; news-trained NER also mistakes the lower-case, title-case and emoji-laden text of Reddit.
  Faker is MIT-licensed, pure Python, kept up to date, and already in the lock. The gap, measured as
  ``NAME_UNCOVERED``: a name that is also a word, or a lower-case one, in a weak context
  ("I'm Grace and ...", "hi im sarah"); and names in no context at all.

  **Subreddits** are quasi-identifiers: a town's, a school's or a small group's subreddit narrows
  down who wrote the text. Kept by name are ``collect.privacy.public_subreddits`` (large topic
  communities), the subreddits the study collects (``collect.*.subreddits``), the record's own, and
  those a ``subreddit_sizes`` table lists with at least ``min_subscribers``; every other one becomes
  ``{{SUBREDDIT}}`` (no subscriber count can be fetched offline, so an unknown size counts as small).

  ``benchmarks/pii/`` (run by ``benchmarks/pii_benchmark.py``) measures every kind both ways
  (recall on planted items, one sentence at a time and planted in dump records through the real
  collect and threads stages; changes to clean sentences and real texts) and writes its figures to
  ``benchmarks/pii_benchmark.json``/``.md``; tests/test_privacy.py asserts them.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import itertools
import os
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

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
# Spaced or dotted (123 45 6789): only numbers the SSA could issue (area not 000, 666 or 9xx; group
# not 00; serial not 0000), so a spaced run of digits that is no SSN stays; nine bare digits only
# right after an SSN keyword.
SSN_SPACED = re.compile(r"(?<![\d.-])(?!000|666|9)\d{3}(?P<sep>[ .]|\s?-\s?)(?!00)\d{2}(?P=sep)(?!0000)\d{4}(?![\d-]|\.\d)")
SSN_NAMED = re.compile(r"\b(?:ssn|social\s+security(?:\s+(?:number|no\.?|#))?)\s*(?:is|:|#|=|-)?\s*(?P<n>\d{9}|\d{3}\s+\d{2}\s+\d{4})\b", re.I)
CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
# Names. A *strong* context says outright that a name follows ("my name is", "call me", a sign-off
# line at the end of a text): any capitalised word there is taken. A *weak* context only makes a
# name likely ("I'm", "... here", "this is", "my sister", "a guy named", "Dr."): there the word must
# be on the first-name list (:func:`name_list`) and not also an everyday English word ("I'm Sorry",
# "I'm Will"-ing), unless an age/sex tag follows it ("I'm Hope, 24F"), and capitalised unless
# the tag follows. Up to two more capitalised words that are no function words are the surname.
WORD = r"[A-Za-z][a-z]*(?:(?-i:['’][A-Z])[a-z]+|-[A-Za-z]?[a-z]+)*"  # O'Brien, Mary-Jane; not I'll or don't
AGE_TAG = re.compile(r"\s*(?:,\s*|\(\s*|\[\s*|\s)(?:\d{1,2}\s*/?\s*[mfMF]|[mfMF]\s*/?\s*\d{1,2}|\d{1,2}\s*(?:yo|y/o|years? old))\b")
NAME_STRONG = re.compile(
    r"\b(?:my\s+name\s+is|my\s+name['’]s|name['’]s|my\s+names|i\s+am\s+called|i['’]?m\s+called|(?<!don't\s)(?<!dont\s)call\s+me"
    r"|my\s+friends\s+call\s+me|(?:people|everyone|they|most\s+people)\s+(?:call|know)\s+me(?:\s+as)?|known\s+as"
    r"|i\s+go\s+by)\s+(?P<n>" + WORD + ")", re.I)
NAME_WEAK = re.compile(
    r"(?:\b(?:i['’]?m|i\s+am)\s+|\b(?:it['’]?s|its)\s+(?:me|just\s+me),?\s+|(?:^|[.!?]\s+|\n)\s*this\s+is\s+"
    r"|\b(?:named|called)\s+"
    r"|\bmy\s+(?:(?:best|old|ex|former|new|late|little|big|older|younger|twin|step|half)[- ]?)*"
    r"(?:friend|bff|bf|gf|boyfriend|girlfriend|husband|wife|partner|fianc[eé]e?|ex|son|daughter|brother|sister|bro|sis"
    r"|mom|mum|mother|dad|father|cousin|aunt|auntie|uncle|nephew|niece|grandma|grandmother|grandpa|grandfather|nan|nana"
    r"|therapist|counsell?or|psychiatrist|psychologist|doctor|teacher|professor|boss|manager|coworker|co-worker|colleague"
    r"|roommate|flatmate|housemate|neighbou?r|classmate|crush|stepdad|stepmom|stepmum|stepbrother|stepsister|abuser)"
    r"(?:\s+(?:named|called))?,?\s+)(?P<n>" + WORD + ")", re.I)
NAME_HERE = re.compile(r"(?:^|[.!?]\s+|\n)\s*(?:(?:hi|hey|hello)(?:\s+(?:all|everyone|guys|reddit))?[,!.]?\s+)?(?P<n>" + WORD
                       + r")(?:\s+" + WORD + r")?\s+here\b(?!\s+(?:is|are|was|were|and|to|in|on|at|for|with|that)\b)", re.I)
CLOSING = (r"(?:thanks|thank\s+you|thanks\s+again|thanks\s+for\s+(?:reading|listening)|cheers|love|lots\s+of\s+love|much\s+love"
           r"|all\s+my\s+love|with\s+love|best|best\s+wishes|all\s+the\s+best|regards|kind\s+regards|warm\s+regards|sincerely"
           r"|yours|xoxo|xx+|x|hugs|take\s+care|peace|stay\s+safe|god\s+bless)")
# A sign-off is the last line of a text (trailing EDIT/UPDATE/P.S. lines aside): a dash or a closing
# word, then the name (optionally an age/sex tag).
SIGN_OFF = re.compile(r"(?:^|\n)[ \t]*(?:[-–—~]+[ \t]*|" + CLOSING + r"[ \t]*[,!.]?[ \t]*(?:\n[ \t]*)?)(?P<n>" + WORD
                      + r")(?:[ \t]+" + WORD + r")?[ \t]*(?:\(?\s*\d{1,2}\s*/?\s*[mfMF]?\s*\)?)?[ \t]*[.!]*[ \t]*(?=\n|$)", re.I)
SIGN_OFF_INLINE = re.compile(r"(?:[.!?]|\s)\s*(?:[-–—~]+\s*|" + CLOSING + r"\s*[,!.]?\s+)(?P<n>" + WORD + r")(?:[ \t]+" + WORD
                             + r")?[ \t]*[.!]*[ \t]*(?=\n|$)", re.I)
# a last line that is nothing but a first name (and a surname) after a blank line
SIGN_OFF_BARE = re.compile(r"\n[ \t]*\n[ \t]*(?P<n>" + WORD + r")(?:[ \t]+" + WORD + r")?[ \t]*[.!]?[ \t]*(?=\n|$)")
AFTER_SIGN_OFF = re.compile(r"\s*(?:$|(?:edit|update|upd|eta|p\.?\s?s\.?|tl;?dr)\b)", re.I)
NOT_NAMES = frozenset(
    "all everyone everybody guys you again friends friend reddit op god bye thanks thank love hope hugs man dude "
    "sorry please anyway anon anonymous me myself someone peace stay well hang good take care best luck yes no "
    "lol ok okay edit update wishes regards luck xx xoxo i maybe crazy whatever mate bro buddy fam folks y'all "
    "redditors strangers internet people sir madam ma'am the a an my your our their his her this that it".split())
STOP_WORDS = frozenset(
    "a an the and or but so to of in on at for from with by as is am are was were be been being it its this that "
    "these those i me my we us our you your he him his she her they them their what who which when where why how "
    "not no yes just really very too also then than now here there again still only even ever never always "
    "if because though although while after before until since about into over under up down out off "
    "have has had do does did will would can could should may might must shall im i'm ive i've dont don't".split())
# Everyday English words that Faker's first-name lists also hold (found by looking for list names
# used as ordinary lower-case words); VADER's lexicon and Faker's lorem word list add more.
COMMON_WORDS = frozenset(
    "don lot job said else hope man sad guy harm summer mad lucky comfort peace faith joy till kick floor edit harsh "
    "mark bill ties innocent patience forum charity max peer chase sole wolf blessing nail angel grace drew jack "
    "urban april may june july august penny fancy dawn cord diamond grant rose pastor christian german hella hunter "
    "valentine crystal melody gene aura destiny eve purity meta grit phoenix will art sunny rusty frank honor honour "
    "chance major sky storm river rain star baby champ happy true young long little rich price reason page case "
    "doctor son sister brother lawyer author general early less media north west green red rock sing spring carry "
    "add kind sweet autumn winter miles king queen prince princess golden silver brown white black gray grey hazel "
    "ginger amber ivy violet lily iris daisy heather holly pearl ruby jade jasmine olive sage skye bliss harmony "
    "justice liberty mercy miracle noble precious treasure trinity unique journey haven lady judge boss link tiny "
    "ward rush cash park fate tea stone bird forest press candy wood york rob sue pat ray lane dean gay male "
    "sonny cherry honey misty stormy goldie sunshine dusty bunny rocky tad ace kit nick bob earl duke baron "
    "marshall sterling tanner taylor mason carter cooper archer hunter porter baker fisher miller walker parker "
    "ok oh ah".split())
AT_NOT_HANDLES = frozenset({"@everyone", "@here", "@channel", "@all"})

# Crisis and support lines are public numbers and the most useful text a support thread holds.
CRISIS_LINES = frozenset({
    "988", "911", "999", "112", "111", "116123", "116111", "741741", "85258", "686868", "13114", "131114",
    "+18002738255", "+18007842433", "+18004874889", "+18007994889", "+18664887386", "+18006564673",
    "+18778705574", "+18009506264", "+18006624357", "+18006564673", "+448457909090", "+448088008000",
    "+441161234", "+448000684141", "+448001111", "+18772738255", "+18882738255",
})
TOLL_FREE = re.compile(r"^\+1(?:800|888|877|866|855|844|833)\d{7}$")


# --------------------------------------------------------------------------- policy
@dataclass(frozen=True)
class Policy:
    """What the scrubber keeps by name: the public subreddits (lower case), and the locales of its
    first-name list. Built from ``collect.privacy`` by :func:`policy_from_config`."""

    public_subreddits: frozenset[str]
    name_locales: tuple[str, ...]


def policy_from_config(cfg=None, extra_subreddits: Iterable[str] = ()) -> Policy:
    """The policy of ``cfg`` (a :class:`redditess.config.PrivacyConfig`; None: the defaults), with
    ``extra_subreddits`` (the study's own) public too and the ``subreddit_sizes`` file read."""
    from redditess.config import PrivacyConfig

    cfg = cfg or PrivacyConfig()
    public = {s.lower().removeprefix("r/") for s in [*cfg.public_subreddits, *extra_subreddits]}
    if cfg.subreddit_sizes:
        public |= _large_subreddits(Path(cfg.subreddit_sizes), cfg.min_subscribers)
    return Policy(frozenset(public), tuple(cfg.name_locales))


def _large_subreddits(path: Path, min_subscribers: int) -> set[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"collect.privacy.subreddit_sizes: {path} not found") from None
    out = set()
    for i, line in enumerate(lines, 1):
        parts = line.strip().split("\t")
        if not line.strip() or line.startswith("#") or (i == 1 and parts[0].strip().lower() in ("subreddit", "name", "display_name")):
            continue  # blank, comment, header
        if len(parts) != 2 or not parts[1].strip().isdigit():
            raise InputError(f"{path}:{i}: expected 'subreddit<TAB>subscribers', got {line[:80]!r}")
        if int(parts[1]) >= min_subscribers:
            out.add(parts[0].strip().lower().removeprefix("r/"))
    return out


@lru_cache(maxsize=1)
def default_policy() -> Policy:
    return policy_from_config()


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


REDDIT_LINK = re.compile(r"^(?:[\w-]+\.)?(?:reddit\.com|redd\.it)/(?:r/(?P<sub>[A-Za-z0-9_]{2,21})(?P<rest>/\S*)?)?", re.I)
SUBREDDIT = re.compile(r"(?<![\w/.])/?r/(?P<sub>[A-Za-z0-9][A-Za-z0-9_]{1,20})(?![\w/])")


def _urls(text: str, policy: Policy, own: str | None = None) -> list[Span]:
    out = []
    for m in _url_matches(text):
        url = m.group().rstrip(".,;:!?")
        host = re.sub(r"^(?:https?://)?(?:www\.|m\.|old\.|mobile\.|new\.|np\.)?", "", url, flags=re.I)
        hostname = host.split("/", 1)[0].split(":", 1)[0]
        reddit = REDDIT_LINK.match(host)
        if PERSON_URL.search("/" + host) or _is_ip(hostname) or "@" in url:
            out.append((m.start(), m.start() + len(url), "{{URL}}"))
        elif reddit and (hostname.lower() == "redd.it" or re.match(r"/comments/", reddit.group("rest") or "")):
            # a post or comment: its author is one click away
            out.append((m.start(), m.start() + len(url), "{{URL}}"))
        elif reddit and reddit.group("sub") and not _public(reddit.group("sub"), policy, own):
            out.append((m.start(), m.start() + len(url), "{{SUBREDDIT}}"))
    return out


def _public(sub: str, policy: Policy, own: str | None) -> bool:
    low = sub.lower()
    return low in policy.public_subreddits or (own is not None and low == own.lower())


def _subreddits(text: str, policy: Policy, own: str | None = None) -> list[Span]:
    """``r/name`` mentions of subreddits that are not public (see ``collect.privacy``): a small or
    local community narrows down who wrote the text."""
    if "r/" not in text.lower():
        return []
    return [(m.start(), m.end(), "{{SUBREDDIT}}") for m in SUBREDDIT.finditer(text) if not _public(m.group("sub"), policy, own)]


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

    out = [(m.start(), m.end(), "{{SSN}}") for m in itertools.chain(SSN.finditer(text), SSN_SPACED.finditer(text))]
    out += [(m.start("n"), m.end("n"), "{{SSN}}") for m in SSN_NAMED.finditer(text)]
    for m in CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
            out.append((m.start(), m.end(), "{{CARD}}"))
    return out


@lru_cache(maxsize=4)
def name_list(locales: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """(first names, the ones that are also everyday words), lower case, from the first-name lists of
    Faker's person providers for ``locales`` (Latin script only)."""
    import importlib

    from faker.providers.lorem.en_US import Provider as Lorem

    names: set[str] = set()
    for loc in locales:
        try:
            provider = importlib.import_module(f"faker.providers.person.{loc}").Provider
        except ModuleNotFoundError:
            raise InputError(f"params.yaml: collect.privacy.name_locales: Faker has no person provider {loc!r}") from None
        for attr in ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary"):
            names.update(n.lower() for n in getattr(provider, attr, ()) if re.fullmatch(r"[A-Za-z][a-z]+(?:['-][A-Za-z]?[a-z]+)?", n))
    words = COMMON_WORDS | {w.lower() for w in Lorem.word_list} | _vader_words()
    names -= STOP_WORDS | NOT_NAMES
    return frozenset(names), frozenset(names & words)


@lru_cache(maxsize=1)
def _vader_words() -> frozenset[str]:
    import vaderSentiment

    lexicon = Path(vaderSentiment.__file__).parent / "vader_lexicon.txt"
    return frozenset(line.split("\t", 1)[0].lower() for line in lexicon.read_text(encoding="utf-8").splitlines() if line)


def _capitalised(word: str) -> bool:
    return word[0].isupper() and not (len(word) > 1 and word.isupper())


def _name_end(text: str, start: int, word: str, strong: bool, policy: Policy) -> int | None:
    """End of the name that starts at ``start`` with ``word``, or None if ``word`` is no name here."""
    low = word.lower().replace("’", "'")
    names, common = name_list(policy.name_locales)
    tagged = AGE_TAG.match(text, start + len(word)) is not None
    if low in NOT_NAMES or (low in STOP_WORDS and not (tagged and low in names)):  # "I'm May, 20F"
        return None
    if strong:
        ok = _capitalised(word) or (low in names and low not in common)
    else:
        ok = low in names and (low not in common or tagged) and (_capitalised(word) or tagged)
    if not ok:
        return None
    end = start + len(word)
    for _ in range(2):  # a surname: capitalised, not a function word
        m = re.compile(r"[ \t]+(" + WORD + ")").match(text, end)
        if not m or not _capitalised(m.group(1)) or m.group(1).lower() in STOP_WORDS | NOT_NAMES:
            break
        end = m.end()
    return end


def _names(text: str, policy: Policy) -> list[Span]:
    out: list[Span] = []
    for rx, strong in ((NAME_STRONG, True), (NAME_WEAK, False), (NAME_HERE, False)):
        for m in rx.finditer(text):
            end = _name_end(text, m.start("n"), m.group("n"), strong, policy)
            if end is not None:
                out.append((m.start("n"), end, "{{NAME}}"))
    for rx, strong in ((SIGN_OFF, True), (SIGN_OFF_INLINE, False), (SIGN_OFF_BARE, False)):
        for m in rx.finditer(text):
            if not AFTER_SIGN_OFF.match(text, m.end()):
                continue  # more text follows: not a sign-off
            end = _name_end(text, m.start("n"), m.group("n"), strong, policy)
            if end is not None:
                out.append((m.start("n"), end, "{{NAME}}"))
    return out


DETECTORS: list[Callable[[str], list[Span]]] = [_email, _ips, _handles, _numbers, _dob, _phones, _addresses]
"""Detectors that need nothing but the text; :func:`detect` adds those that read the policy."""


def detect(text: str, policy: Policy | None = None, subreddit: str | None = None) -> list[Span]:
    """Non-overlapping ``(start, end, placeholder)`` spans of personal data in ``text`` (as given);
    ``subreddit``: the one the text was posted in (named freely)."""
    policy = policy or default_policy()
    spans = [s for det in DETECTORS for s in det(text)]
    spans += _urls(text, policy, subreddit) + _subreddits(text, policy, subreddit) + _names(text, policy)
    # Inside a link kept as a public resource, ids and query strings are not personal data
    # (an Amazon product number is not a phone number): only the link's own verdict counts.
    kept_links = [(m.start(), m.end()) for m in _url_matches(text)]
    if kept_links:
        spans = [s for s in spans if s[2] in ("{{URL}}", "{{SUBREDDIT}}") or not any(a <= s[0] < b for a, b in kept_links)]
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


def scrub(text: str, policy: Policy | None = None, subreddit: str | None = None) -> str:
    """Clean ``text`` and replace its personal data by typed ``{{KIND}}`` placeholders (``policy``:
    :func:`policy_from_config`, default the defaults; ``subreddit``: where the text was posted)."""
    if not text or text in DELETED:
        return text
    text = clean_text(text)
    norm, index = _normalised(text)
    spans = detect(norm, policy, subreddit)
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


def anonymize(record: dict, salt: str, scrub_pii: bool, policy: Policy | None = None) -> dict:
    """A minimised, pseudonymised, cleaned and scrubbed copy of one Pushshift record (the record's own
    subreddit may be named in its text)."""
    out = {k: v for k, v in record.items() if k in KEEP_FIELDS}
    out["author"] = pseudonym(record.get("author"), salt)
    own = record.get("subreddit") if isinstance(record.get("subreddit"), str) else None
    for key, value in out.items():
        if isinstance(value, str):
            out[key] = scrub(value, policy, own) if scrub_pii and key in TEXT_FIELDS else clean_text(value)
    return out
