"""Online RL that learns instead of hacking: trl 1.12's PPO and RLOO, with what their known traps need.

trl 1.12.0's ``trl.experimental.ppo.PPOTrainer`` (removed from trl after 1.12, PR #7020) has traps that
turn "maximise the reward model" into "stop mid-sentence" or "repeat one phrase" (docs/online-rl.md;
tests/test_rl.py measures each on the real trainer):

* **The score lands on the first padding token after EOS** (trl issue #3750, open; fix PR #5338 closed
  unmerged): ``rewards[i, sequence_length + 1] += score``. With GAE λ < 1 a finished response's tokens get
  the score discounted by λ and bootstrapped from the value at a padding position, while a response cut
  at ``response_length`` (no padding after it) gets it whole on its last token: finishing is paid less
  than not finishing. The project runs PPO at γ = λ = 1 (``ppo.lam``): every token's advantage is then
  the sum of the rewards after it minus its value, wherever trl put the score.
* **``missing_eos_penalty`` looks for the EOS token only** (trl's ``contain_eos_token``), while truncation
  uses ``stop_token_id``: a custom stop token ends responses that are then penalised as unfinished.
  :class:`AuditedPPOTrainer` refuses a stop token other than EOS.
* **A padding token equal to EOS** (what ``load_tokenizer`` falls back to for Llama-family tokenizers)
  makes trl treat EOS as padding: ``sequence_length`` stops before it, so the EOS token is masked out of
  the policy loss (the policy is never trained to end) and the value targets are shifted onto it.
  :func:`distinct_pad` gives the tokenizer a padding token that is not EOS; :class:`AuditedPPOTrainer`
  refuses one that is.
* **Truncation at ``response_length`` is not penalised** unless ``missing_eos_penalty`` is set; the
  project sets it from ``ppo.missing_eos_penalty``.

The value model starts from the reward model; :class:`AuditedPPOTrainer` can train it alone for the first
``value_warmup_updates`` updates (the policy's learning rate is 0 there).

The RLOO arm (:class:`PretokenizedRLOOTrainer`) samples from the project's own prompt ids and is rewarded
by :class:`RewardModelScore` plus shaping terms (:class:`UnfinishedPenalty`, trl's repetition penalty).
"""

from __future__ import annotations

import logging

from redditess.runtime import InputError

log = logging.getLogger(__name__)

SCORE_AFTER_EOS = "trl issue #3750"


# --------------------------------------------------------------------------- tokens
def distinct_pad(tok):
    """``tok`` with a padding token that is not its EOS (trl's PPO treats padding as "after the end";
    :data:`SCORE_AFTER_EOS` and the pad == EOS trap). A tokenizer with its own padding token is returned
    as it is; otherwise an unused special token of its vocabulary (one named like a pad, then a reserved
    one, then any special token that is neither BOS, EOS nor part of the chat template) becomes the
    padding token, so no embedding is added. Raises InputError when there is none."""
    if tok.pad_token_id is not None and tok.pad_token_id != tok.eos_token_id:
        return tok
    template = str(getattr(tok, "chat_template", None) or "")
    taken = {tok.eos_token_id, tok.bos_token_id}
    candidates = [t.content for i, t in sorted(tok.added_tokens_decoder.items())
                  if t.special and i not in taken and t.content not in template]
    for pick in ([c for c in candidates if "pad" in c.lower()], [c for c in candidates if "reserved" in c.lower()], candidates):
        if pick:
            tok.pad_token = pick[0]
            log.info("padding token: %s (the tokenizer's was its EOS, %s)", pick[0], SCORE_AFTER_EOS)
            return tok
    raise InputError(f"{getattr(tok, 'name_or_path', 'the tokenizer')}: its padding token is its EOS and it has no unused "
                     f"special token to pad with; trl's PPO would mask EOS as padding ({SCORE_AFTER_EOS})")


def check_tokens(tok, stop_token: str | None, stop_token_id: int | None) -> None:
    """Refuse the token settings that hit trl's traps: no padding token or padding == EOS, and a stop
    token other than EOS (``missing_eos_penalty`` looks for EOS only, so every response ended by a
    custom stop token would be penalised as unfinished)."""
    if tok.pad_token_id is None or tok.pad_token_id == tok.eos_token_id:
        raise InputError(f"ppo: the padding token is {'missing' if tok.pad_token_id is None else 'the EOS token'}; trl's PPO "
                         f"then masks EOS as padding and shifts the value targets ({SCORE_AFTER_EOS}); "
                         "use redditess.rl.distinct_pad")
    if stop_token_id is not None and stop_token_id != tok.eos_token_id:
        raise InputError(f"ppo.trainer_args.stop_token_id: {stop_token_id} is not the EOS token ({tok.eos_token_id}); trl's "
                         "missing_eos_penalty looks for EOS only, so responses ended by it would be penalised as unfinished")
    if stop_token_id is None and stop_token != "eos":
        raise InputError(f"ppo.trainer_args.stop_token: {stop_token!r}; the rollouts must stop at EOS (without a stop token "
                         "trl scores every response at its full length and never sees it end)")


def audited_ppo_trainer():
    """:class:`AuditedPPOTrainer` (built on first use: importing trl takes seconds)."""
    from trl.experimental.ppo import PPOTrainer

    class AuditedPPOTrainer(PPOTrainer):
        """trl 1.12's PPOTrainer with the project's guards against its traps (this module's docstring):
        token settings checked (:func:`check_tokens`), a warning when GAE λ < 1 lets the score's place
        after EOS (trl issue #3750) favour unfinished responses, and value warm-up: for the first
        ``value_warmup_updates`` updates the policy's parameter groups have learning rate 0, so only the
        value model (started from the reward model) learns to predict returns."""

        def __init__(self, *args, value_warmup_updates: int = 0, **kwargs):
            config = kwargs["args"] if "args" in kwargs else args[0]
            tok = kwargs["processing_class"] if "processing_class" in kwargs else args[1]
            check_tokens(tok, config.stop_token, config.stop_token_id)
            if config.lam < 1 or config.gamma < 1:
                log.warning("ppo: GAE lam %s / gamma %s < 1: trl adds the score at the first padding token after EOS "
                            "(%s), so finished responses get it discounted and unfinished ones whole",
                            config.lam, config.gamma, SCORE_AFTER_EOS)
            self.value_warmup_updates = value_warmup_updates
            super().__init__(*args, **kwargs)

        def create_optimizer_and_scheduler(self, num_training_steps: int):
            super().create_optimizer_and_scheduler(num_training_steps)
            if not self.value_warmup_updates:
                return
            policy = {id(p) for p in self.model.policy.parameters()}
            groups = []
            for g in self.optimizer.param_groups:
                rest = {k: v for k, v in g.items() if k not in ("params", "initial_lr")}
                rest["lr"] = g.get("initial_lr", g["lr"])
                for role in ("policy", "value"):
                    params = [p for p in g["params"] if (id(p) in policy) == (role == "policy")]
                    if params:
                        groups.append({**rest, "params": params, "role": role})
            self.optimizer.param_groups = []  # no step taken yet: the groups are rebuilt, split by role
            for g in groups:
                self.optimizer.add_param_group(g)
            base = self.lr_scheduler.lr_lambdas[0] if hasattr(self.lr_scheduler, "lr_lambdas") else (lambda step: 1.0)
            self.lr_scheduler = self._warmup_scheduler(self.optimizer, base, groups)

            def skip_policy(optimizer, *_):
                # During warm-up the policy's gradients are dropped before the step, so Adam's moments do not
                # carry the first (value-less, noisy) advantages into the policy's first real update.
                if self.lr_scheduler.last_epoch < self.value_warmup_updates:
                    for g in optimizer.param_groups:
                        if g["role"] == "policy":
                            for p in g["params"]:
                                p.grad = None

            self.optimizer.register_step_pre_hook(skip_policy)

        def _warmup_scheduler(self, optimizer, base, groups):
            from torch.optim.lr_scheduler import LambdaLR

            warm = self.value_warmup_updates

            def frozen_then_base(step: int) -> float:
                return 0.0 if step < warm else base(step)

            return LambdaLR(optimizer, [frozen_then_base if g["role"] == "policy" else base for g in optimizer.param_groups])

    return AuditedPPOTrainer


# --------------------------------------------------------------------------- RLOO
def pretokenized_rloo_trainer():
    """trl's RLOOTrainer rolling out from the project's own prompt ids (``redditess.lm.prompt_ids``, the
    one tokenization every stage uses) instead of re-tokenizing the prompt text its own way (it would
    add a second BOS to a chat-template rendering). The dataset's ``prompt`` column holds keys of
    ``prompt_ids``."""
    from trl import RLOOTrainer

    class PretokenizedRLOOTrainer(RLOOTrainer):
        def __init__(self, *args, prompt_ids: dict[str, list[int]], **kwargs):
            self.prompt_ids = prompt_ids
            super().__init__(*args, **kwargs)

        def _tokenize_prompts(self, prompts: list):
            return [list(self.prompt_ids[p]) for p in prompts], None, {}

    return PretokenizedRLOOTrainer


class RewardModelScore:
    """The reward model's scalar score of prompt ids + completion ids (with EOS when the completion
    ended), exactly the sequences it was trained on (``redditess.lm.reward_scores``)."""

    __name__ = "reward_model"

    def __init__(self, model, tok, prompt_ids: dict[str, list[int]], max_length: int):
        self.model, self.tok, self.prompt_ids, self.max_length = model, tok, prompt_ids, max_length

    def __call__(self, prompts, completion_ids, **kwargs) -> list[float]:
        from redditess.lm import reward_scores

        seqs = [list(self.prompt_ids[p]) + list(c) for p, c in zip(prompts, completion_ids, strict=True)]
        return [float(s) for s in reward_scores(self.model, self.tok, seqs, self.max_length)]


class UnfinishedPenalty:
    """Shaping: ``-penalty`` for a completion that does not end with EOS (cut at the length limit),
    0 otherwise — PPO's ``missing_eos_penalty``, for RLOO."""

    __name__ = "unfinished_penalty"

    def __init__(self, eos_token_id: int, penalty: float):
        self.eos, self.penalty = eos_token_id, penalty

    def __call__(self, completion_ids, **kwargs) -> list[float]:
        return [0.0 if len(c) and c[-1] == self.eos else -self.penalty for c in completion_ids]


def rloo_reward_funcs(rm, tok, prompt_ids: dict[str, list[int]], max_length: int, cfg) -> list:
    """The reward model plus the shaping terms of ``cfg`` (``rloo``): unfinished penalty and trl's
    repetition penalty (``trl.rewards.get_repetition_penalty_reward``), each weighted 1."""
    from trl.rewards import get_repetition_penalty_reward

    return [RewardModelScore(rm, tok, prompt_ids, max_length), UnfinishedPenalty(tok.eos_token_id, cfg.unfinished_penalty),
            get_repetition_penalty_reward(ngram_size=cfg.repetition_ngram, max_penalty=-cfg.repetition_penalty)]


# --------------------------------------------------------------------------- summaries
def quarter_means(values: list[float]) -> tuple[float, float]:
    """(mean of the first quarter, mean of the last quarter) of a training curve (NaN when empty)."""
    import numpy as np

    if not values:
        return float("nan"), float("nan")
    k = max(1, len(values) // 4)
    return float(np.mean(values[:k])), float(np.mean(values[-k:]))


def curve_summary(curve) -> dict:
    """Start and end of the over-optimisation probe (``redditess.overopt.CurveProbe.frame``)."""
    if not len(curve):
        return {}
    first, last = curve.iloc[0], curve.iloc[-1]
    out = {}
    for col in ("proxy_reward", "gold_score", "kl", "truncated_share", "mode_sentence_share", "mean_words"):
        if col in curve:
            out[f"probe_{col}_start"], out[f"probe_{col}_end"] = float(first[col]), float(last[col])
    return out
