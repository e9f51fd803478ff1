"""trl 1.12's PPO traps, measured on the real ``trl.experimental.ppo.PPOTrainer`` with tiny local models,
and the project's answers to them (``redditess.rl``, docs/online-rl.md).

The policy is a tiny GPT-2 whose logits are pushed (+50) towards a script: prompt ``P1`` is answered
``A B <EOS>`` (finished), prompt ``P2`` is answered ``C D C D ...`` until ``response_length`` (unfinished).
The reward model scores every sequence ``S`` and the value model predicts 0, so with ``kl_coef`` 0 the
raw advantages trl computes (captured at its first ``masked_whiten`` call, before whitening) show where
the score lands and what each response receives."""

from __future__ import annotations

import pytest
import torch

S = 2.0
RESPONSE_LENGTH = 6
TEXTS = ["i hear you and that sounds hard.", "you are not alone in this, truly.", "post: title\nbody text here"] * 20


@pytest.fixture(scope="module")
def tok():
    from redditess.lm import train_tokenizer

    t = train_tokenizer(TEXTS, 300)
    t.padding_side = "left"
    return t


def _script(tok):
    """Token ids: P1, P2 (prompt ends) and A, B, C, D (response tokens), none special."""
    ids = list(range(20, 26))
    assert tok.pad_token_id not in ids and tok.eos_token_id not in ids
    return dict(zip(["P1", "P2", "A", "B", "C", "D"], ids, strict=True))


def scripted_policy(tok, seed=0):
    from transformers import GPT2Config, GPT2LMHeadModel

    class Scripted(GPT2LMHeadModel):
        def forward(self, input_ids=None, **kwargs):
            out = super().forward(input_ids=input_ids, **kwargs)
            nxt = self.next_of[input_ids]
            push = torch.nn.functional.one_hot(nxt.clamp(min=0), out.logits.shape[-1]) * (nxt >= 0).unsqueeze(-1) * 50.0
            out.logits = out.logits + push
            return out

    k = _script(tok)
    torch.manual_seed(seed)
    model = Scripted(GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=1, n_head=2,
                                eos_token_id=tok.eos_token_id, bos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id))
    table = torch.full((len(tok),), -1, dtype=torch.long)
    for a, b in [("P1", "A"), ("A", "B"), ("P2", "C"), ("C", "D"), ("D", "C")]:
        table[k[a]] = k[b]
    table[k["B"]] = tok.eos_token_id
    model.register_buffer("next_of", table, persistent=False)
    return model


def constant_scorer(tok, value: float, seed=1):
    """A GPT-2 sequence classifier whose score is ``value`` at every position."""
    from transformers import GPT2Config, GPT2ForSequenceClassification

    torch.manual_seed(seed)
    m = GPT2ForSequenceClassification(GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=1, n_head=2,
                                                 num_labels=1, pad_token_id=tok.pad_token_id))
    b = torch.nn.functional.normalize(torch.randn(32), dim=0)
    with torch.no_grad():
        m.transformer.ln_f.weight.zero_()
        m.transformer.ln_f.bias.copy_(b)
        m.score.weight.copy_(value * b.unsqueeze(0))
    return m


def run_ppo(tok, monkeypatch, tmp_path, audited=False, value_warmup_updates=0, **overrides):
    """One PPO update on 2 × P1 and 2 × P2 prompts; returns (raw advantages, policy-loss mask, trainer)."""
    from datasets import Dataset
    from trl.experimental.ppo import PPOConfig, PPOTrainer
    from trl.experimental.ppo import ppo_trainer as ppo_module

    from redditess.rl import audited_ppo_trainer

    k = _script(tok)
    calls = []
    real = ppo_module.masked_whiten

    def spy(values, mask, shift_mean=True):
        calls.append((values.detach().clone(), mask.detach().clone()))
        return real(values, mask, shift_mean)

    monkeypatch.setattr(ppo_module, "masked_whiten", spy)
    settings = dict(output_dir=str(tmp_path), per_device_train_batch_size=4, total_episodes=4, num_ppo_epochs=1,
                    num_mini_batches=1, local_rollout_forward_batch_size=4, response_length=RESPONSE_LENGTH,
                    stop_token="eos", temperature=1.0, kl_coef=0.0, missing_eos_penalty=None, num_sample_generations=0,
                    learning_rate=1e-3, report_to=[], use_cpu=True, bf16=False, seed=0, logging_steps=1, save_strategy="no",
                    disable_tqdm=True)
    settings.update(overrides)
    args = PPOConfig(**settings)
    prompts = [[k["P1"], k["A"], k["P1"]], [k["P1"], k["A"], k["P1"]], [k["P2"], k["C"], k["P2"]], [k["P2"], k["C"], k["P2"]]]
    policy = scripted_policy(tok)
    kwargs = dict(args=args, processing_class=tok, model=policy, ref_model=scripted_policy(tok),
                  reward_model=constant_scorer(tok, S), value_model=constant_scorer(tok, 0.0, seed=2),
                  train_dataset=Dataset.from_dict({"input_ids": prompts}))
    trainer = (audited_ppo_trainer()(**kwargs, value_warmup_updates=value_warmup_updates) if audited
               else PPOTrainer(**kwargs))
    trainer.train()
    advantages, mask = calls[0]
    return advantages, mask, trainer


def _split(advantages, mask):
    """(finished row, unfinished row) indices: the finished response's mask ends after 3 tokens."""
    lengths = mask.sum(1)
    finished = int(torch.nonzero(lengths == 3)[0])
    unfinished = int(torch.nonzero(lengths == RESPONSE_LENGTH)[0])
    return finished, unfinished


def test_trl_adds_the_score_at_the_first_padding_token_after_eos(tok, monkeypatch, tmp_path):
    """trl issue #3750: with λ = 0.5 the advantage is largest where the score was added — index 3, the
    first padding token after ``A B <EOS>``, a position outside the policy loss; the EOS token itself gets
    λ·S. The unfinished response (no padding) gets S on its last real token."""
    adv, mask, _ = run_ppo(tok, monkeypatch, tmp_path, lam=0.5)
    f, u = _split(adv, mask)
    assert mask[f].tolist() == [True, True, True, False, False, False]  # A B EOS trained; padding not
    assert adv[f, 3] == pytest.approx(S)  # the score, on the first padding token
    assert adv[f, 2] == pytest.approx(0.5 * S)  # the EOS token: discounted by λ
    assert adv[u, RESPONSE_LENGTH - 1] == pytest.approx(S)  # unfinished: whole, on its last token
    assert adv[u, RESPONSE_LENGTH - 1] > adv[f, 2]  # not finishing is paid more than finishing


def test_trl_default_lambda_pays_an_unfinished_response_more_and_the_project_setting_does_not(tok, monkeypatch, tmp_path):
    """trl's default λ 0.95 gives every token of the finished response less than the matching token of
    the unfinished one; the project's ``ppo.lam`` = ``ppo.gamma`` = 1 gives every trained token S."""
    from redditess.config import PpoConfig

    adv, mask, _ = run_ppo(tok, monkeypatch, tmp_path, lam=0.95)
    f, u = _split(adv, mask)
    assert adv[f, 2] == pytest.approx(0.95 * S) and adv[u, RESPONSE_LENGTH - 1] == pytest.approx(S)

    cfg = PpoConfig()
    adv, mask, _ = run_ppo(tok, monkeypatch, tmp_path / "fixed", lam=cfg.lam, gamma=cfg.gamma)
    f, u = _split(adv, mask)
    assert adv[f][mask[f]].tolist() == pytest.approx([S] * 3)
    assert adv[u][mask[u]].tolist() == pytest.approx([S] * RESPONSE_LENGTH)


def test_an_unfinished_response_receives_the_score_minus_missing_eos_penalty_and_nothing_less_without_it(
        tok, monkeypatch, tmp_path):
    """``response_length`` truncation is free in trl unless ``missing_eos_penalty`` is set; with the
    project's default the unfinished response receives S − 1 and the finished one S."""
    from redditess.config import PpoConfig

    adv, mask, _ = run_ppo(tok, monkeypatch, tmp_path, lam=1.0)
    f, u = _split(adv, mask)
    assert adv[u, RESPONSE_LENGTH - 1] == pytest.approx(S) == adv[f, 2]  # trl's default: truncation costs nothing

    penalty = PpoConfig().missing_eos_penalty
    assert penalty > 0
    adv, mask, _ = run_ppo(tok, monkeypatch, tmp_path / "p", lam=1.0, missing_eos_penalty=penalty)
    f, u = _split(adv, mask)
    assert adv[u, RESPONSE_LENGTH - 1] == pytest.approx(S - penalty)
    assert adv[f, 2] == pytest.approx(S)


def test_a_custom_stop_token_is_never_credited_by_missing_eos_penalty_so_the_project_refuses_it(tok, monkeypatch, tmp_path):
    """With ``stop_token_id`` = B, trl truncates ``A B`` at B (a finished answer) but ``missing_eos_penalty``
    looks for EOS only: the stopped response is penalised as if unfinished."""
    from redditess.runtime import InputError

    b = _script(tok)["B"]
    adv, mask, _ = run_ppo(tok, monkeypatch, tmp_path, lam=1.0, stop_token=None, stop_token_id=b, missing_eos_penalty=1.0)
    stopped = int(torch.nonzero(mask.sum(1) == 2)[0])  # A B, then padding
    assert adv[stopped, 1] == pytest.approx(S - 1.0)  # penalised although it stopped
    with pytest.raises(InputError, match="missing_eos_penalty looks for EOS only"):
        run_ppo(tok, monkeypatch, tmp_path / "a", audited=True, stop_token=None, stop_token_id=b)


def test_padding_equal_to_eos_masks_eos_out_of_the_policy_loss_and_the_project_pads_with_another_token(
        tok, monkeypatch, tmp_path):
    """pad == EOS: trl's ``sequence_length`` is the first padding token − 1, i.e. the token before EOS, so
    EOS is never trained (the policy is never taught to end) and the score lands on EOS. A distinct
    padding token (the default tokenizer's, or ``distinct_pad``'s) keeps EOS trained."""
    import copy

    from redditess.rl import distinct_pad
    from redditess.runtime import InputError
    from redditess.tiny_llama import llama3_style_tokenizer

    assert tok.pad_token_id != tok.eos_token_id
    same = copy.deepcopy(tok)
    same.pad_token = same.eos_token
    adv, mask, _ = run_ppo(same, monkeypatch, tmp_path, lam=0.5)
    f = int(torch.nonzero(mask.sum(1) == 2)[0])
    assert mask[f].tolist()[:3] == [True, True, False]  # EOS (index 2) outside the policy loss
    assert adv[f, 2] == pytest.approx(S)  # the score sits on EOS, as if it were padding

    with pytest.raises(InputError, match="padding token is the EOS token"):
        run_ppo(same, monkeypatch, tmp_path / "a", audited=True)

    llama = llama3_style_tokenizer(TEXTS, chat_template=False)  # Llama-3 base: no pad token
    llama.pad_token = llama.eos_token  # what redditess.lm.load_tokenizer falls back to
    fixed = distinct_pad(llama)
    assert fixed.pad_token_id not in (fixed.eos_token_id, fixed.bos_token_id)
    assert len(fixed) == len(llama3_style_tokenizer(TEXTS, chat_template=False))  # no token added


def test_distinct_pad_prefers_a_pad_like_reserved_token_and_refuses_when_there_is_none(tok):
    import copy

    from redditess.rl import distinct_pad
    from redditess.runtime import InputError

    assert distinct_pad(tok) is tok and tok.pad_token == "<|pad|>"
    t = copy.deepcopy(tok)
    t.add_special_tokens({"additional_special_tokens": ["<|reserved_special_token_0|>", "<|finetune_right_pad_id|>"]})
    t.pad_token = t.eos_token
    assert distinct_pad(t).pad_token in ("<|finetune_right_pad_id|>", "<|pad|>")

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE(unk_token=None))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.train_from_iterator(TEXTS, trainers.BpeTrainer(vocab_size=280, special_tokens=["<|endoftext|>"], show_progress=False))
    bare = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    with pytest.raises(InputError, match="no unused special token"):
        distinct_pad(bare)


def test_value_warmup_trains_the_value_model_only(tok, monkeypatch, tmp_path):
    """``ppo.value_warmup_updates``: during warm-up the policy's learning rate is 0 and its weights do
    not move; the value model's do."""
    before_policy = {k: v.clone() for k, v in scripted_policy(tok).state_dict().items()}
    before_value = {k: v.clone() for k, v in constant_scorer(tok, 0.0, seed=2).state_dict().items()}
    _, _, trainer = run_ppo(tok, monkeypatch, tmp_path, audited=True, value_warmup_updates=1, lam=1.0)
    after_policy = trainer.model.policy.state_dict()
    after_value = trainer.model.value_model.state_dict()
    assert all(torch.equal(before_policy[k], after_policy[k]) for k in before_policy)
    assert any(not torch.equal(before_value[k], after_value[k]) for k in before_value)
    roles = [g["role"] for g in trainer.optimizer.param_groups]
    assert "policy" in roles and "value" in roles
    policy_params = [p for g in trainer.optimizer.param_groups if g["role"] == "policy" for p in g["params"]]
    value_params = [p for g in trainer.optimizer.param_groups if g["role"] == "value" for p in g["params"]]
    assert all(not trainer.optimizer.state.get(p) for p in policy_params)  # no Adam moments from warm-up advantages
    assert any(trainer.optimizer.state.get(p) for p in value_params)


def test_unfinished_and_repetition_shaping_for_rloo():
    from trl.rewards import get_repetition_penalty_reward

    from redditess.rl import UnfinishedPenalty

    assert UnfinishedPenalty(1, 0.5)([[5, 6, 1], [5, 6], []]) == [0.0, -0.5, -0.5]
    assert get_repetition_penalty_reward(ngram_size=3, max_penalty=-1.0)([[1, 2, 3, 4], [5, 5, 5, 5, 5]]) == [0.0, pytest.approx(-2 / 3)]
