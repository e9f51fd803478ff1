"""The OP-reply labeler on written examples of real OP replies: one test per rule, each rule a param."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from redditess.config import OpReplyConfig
from redditess.labelers import combine_votes, op_reply
from redditess.runtime import InputError

CFG = OpReplyConfig()


def _labels(replies: list[list[str]], cfg: OpReplyConfig = CFG) -> list:
    n = len(replies)
    units = pd.DataFrame({"post_id": [f"p{i}" for i in range(n)], "comment_id": [f"c{i}" for i in range(n)],
                          "op_replies": replies})
    return [None if pd.isna(v) else int(v) for v in op_reply(units, cfg).label]


@pytest.mark.parametrize("text", ["thankyou, I'll think about it", "thx", "ty!!", "tysm", "tyvm friend",
                                  "Thank u", "this means a lot", "That means so much to me", "I'm really grateful",
                                  "I appreciate it", "thanks a lot", "thankx for the reply", "Your comment really helped",
                                  "I’ll try that tonight", "you saved my life"])
def test_gratitude_in_common_spellings(text):
    assert _labels([[text]]) == [1]


def test_gratitude_with_self_disclosure_of_distress_is_gratitude_and_the_param_restores_the_old_rule():
    text = ("Thank you so much, I've felt so bad for so long, I was at the point where I can't handle it anymore "
            "and I have been having serious suicidal thoughts over it")
    assert _labels([[text]]) == [1]
    strict = dataclasses.replace(CFG, gratitude_overrides_sentiment=False)
    assert _labels([[text], ["Thank you, this is lovely"]], strict) == [None, 1]


@pytest.mark.parametrize("text", ["Same, it's so hard", "same here. every day is a struggle",
                                  "Me too, I hate feeling like this", "It's nice to know someone else feels the same",
                                  "You too, it can be so hard opening up", "I'm glad I'm not alone in this",
                                  "I can relate so much, it's awful"])
def test_commiseration_is_not_rejection(text):
    assert _labels([[text]]) == [1]
    assert _labels([[text]], dataclasses.replace(CFG, commiseration_vote="abstain")) == [None]


@pytest.mark.parametrize("text", ["That didn't help at all", "You don’t understand", "I already tried that",
                                  "Thanks, I guess. It won't work for me", "Appreciate your input, but I disagree.",
                                  "Thank you for your reply but my question was not about hormones",
                                  "That made me feel worse"])
def test_rejection_wins_even_next_to_thanks(text):
    assert _labels([[text]]) == [0]


@pytest.mark.parametrize("text", ["I completely agree. Lack of confidence gets to me a lot",
                                  "You’re right, I was so scared", "Uau that makes total sense", "❤❤",
                                  "That's a good idea", "this is a little reassuring"])
def test_agreement_votes_effective(text):
    assert _labels([[text]]) == [1]


def test_follow_up_question_is_its_own_signal_and_the_param_decides_the_vote():
    replies = [["Can you recommend some ways to build up self confidence?"], ["How do I even start with that"],
               ["Would this apply even if she is 21 ?"]]
    assert _labels(replies) == [1, 1, 1]
    assert _labels(replies, dataclasses.replace(CFG, question_vote="abstain")) == [None, None, None]
    assert _labels(replies, dataclasses.replace(CFG, question_vote="ineffective")) == [0, 0, 0]
    # a question after thanks stays gratitude; a question after a rejection stays rejection
    assert _labels([["thank you. but why does this happen?"], ["That didn't help, what else is there?"]]) == [1, 0]


def test_sentiment_fallback_and_neutral_abstains():
    assert _labels([["I'm 17 and I'm scared and alone, nobody listens"], ["ok"], ["Possibly, school is coming up"], []]) \
        == [0, None, None, None]


def test_one_late_reply_cannot_flip_the_label():
    rejected_then_polite = [["That didn't help.", "You don't get it, it's not that simple.", "thanks anyway"]]
    assert _labels(rejected_then_polite) == [0]
    thanked_then_one_rejection = [["Thank you so much!", "That didn't work though"]]
    assert _labels(thanked_then_one_rejection) == [1]
    # two later replies agreeing do overturn the first
    assert _labels([["That didn't help.", "thanks, actually it did", "it really helped"]]) == [1]
    # an explicit late thanks outweighs an earlier vote from sentiment alone (sentiment_weight)
    assert _labels([["My psychiatrist ignores me and I'm miserable", "thank you, it made me feel better"]]) == [1]
    # with decay 1 and a tie, the first vote decides
    assert _labels([["That didn't help.", "thanks"]], dataclasses.replace(CFG, reply_decay=1.0)) == [0]


def test_combine_votes_rule():
    none_label, none_score = combine_votes([], 0.8)
    assert none_label is None and np.isnan(none_score)
    label, score = combine_votes([(1, 1.0), (0, 1.0), (0, 1.0)], 0.8)  # 1 - 0.8 - 0.64 < 0
    assert label == 0 and -1 <= score < 0
    assert combine_votes([(None, 1.0), (1, 0.5)], 0.8) == (1, 1.0)


def test_bad_params_stop_with_the_key():
    with pytest.raises(InputError, match="label.op_reply.reply_decay"):
        _labels([["thanks"]], dataclasses.replace(CFG, reply_decay=0.0))
    with pytest.raises(InputError, match="label.op_reply.sentiment_model"):
        _labels([["thanks"]], dataclasses.replace(CFG, sentiment_model="/nonexistent/model"))


def test_a_hub_sentiment_model_needs_a_pinned_commit_and_permission_to_download(monkeypatch, tmp_path):
    import huggingface_hub.constants as hc

    from redditess.labelers import _transformer_sentiment

    _transformer_sentiment.cache_clear()
    monkeypatch.delenv("REDDITESS_ALLOW_DOWNLOADS", raising=False)
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    hub = dataclasses.replace(CFG, sentiment_model="cardiffnlp/twitter-roberta-base-sentiment-latest")
    with pytest.raises(InputError, match=r"^label.op_reply.sentiment_revision: .* pin its commit"):
        _labels([["thanks"]], hub)
    pinned = dataclasses.replace(hub, sentiment_revision="5916057ce88cf0a408a195082b6c06d3dce12552")
    with pytest.raises(InputError, match=r"^label.op_reply.sentiment_model: hub model .* downloads are off"):
        _labels([["thanks"]], pinned)


def test_abstention_on_real_dyadic_threads_is_at_most_half_of_the_old_rule(shared_data, tmp_path):
    """red-mhs: 361 units, every one with an OP reply. The gratitude x VADER rule before these
    patterns abstained on 126 (34.9%); the target is at most half of that."""
    from redditess.config import DumpConfig, FilterConfig
    from redditess.sources.dump import RecordStore, read_dumps
    from redditess.threads import build_units

    store = RecordStore(tmp_path / "store.sqlite")
    read_dumps(DumpConfig(paths=[str(shared_data / "red-mhs" / "*.ndjson")]), False, store)
    units, _, _ = build_units(list(store.records("submission")), list(store.records("comment")),
                              FilterConfig(require_edited_post=False), set())
    assert len(units) > 300 and units.op_replies.map(len).gt(0).all()
    labels = op_reply(units, CFG).label
    assert labels.isna().mean() <= 0.349 / 2
    assert 0.1 < (labels == 0).sum() / labels.notna().sum() < 0.3  # both classes, effective the majority


@pytest.mark.parametrize("bias, expected", [([6.0, 0.0, 0.0], 0), ([0.0, 0.0, 6.0], None)])
def test_local_transformer_sentiment_replaces_vader(tmp_path, bias, expected):
    """A saved sentiment classifier in a local directory (here a tiny BERT whose head is fixed to
    one class) decides the replies no pattern matched; nothing is downloaded."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "i", "went", "to", "work", "today"]) + "\n")
    tok = BertTokenizerFast(vocab_file=str(vocab))
    config = BertConfig(vocab_size=10, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                        num_labels=3, id2label={0: "negative", 1: "neutral", 2: "positive"},
                        label2id={"negative": 0, "neutral": 1, "positive": 2})
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor(bias))
    path = tmp_path / f"sentiment-{int(bias[0])}"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    cfg = dataclasses.replace(CFG, sentiment_model=str(path))
    assert _labels([["i went to work today"], ["thanks"]], cfg) == [expected, 1]
