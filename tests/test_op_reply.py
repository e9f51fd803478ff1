"""The OP-reply labeler on written examples modelled on the patterns of real OP replies (in the
shared r/MentalHealthSupport threads; the sentences are our own): one test per rule, each rule a param."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from redditess.config import OpReplyConfig
from redditess.labelers import combine_votes, op_reply
from redditess.runtime import InputError

CFG = OpReplyConfig()


def _votes(replies: list[list[str]], cfg: OpReplyConfig = CFG) -> pd.DataFrame:
    n = len(replies)
    units = pd.DataFrame({"post_id": [f"p{i}" for i in range(n)], "comment_id": [f"c{i}" for i in range(n)],
                          "op_replies": replies})
    return op_reply(units, cfg)


def _labels(replies: list[list[str]], cfg: OpReplyConfig = CFG) -> list:
    return [None if pd.isna(v) else int(v) for v in _votes(replies, cfg).label]


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


def test_follow_up_question_is_no_verdict_and_the_param_decides_the_vote():
    replies = [["Could you suggest a few ways to feel less anxious at work?"], ["Any idea how I bring this up with my mum?"],
               ["So you honestly think it gets better?"], ["What if I can't afford a therapist though?"]]
    assert _labels(replies) == [None] * 4  # engagement, not a verdict on the comment
    assert _labels(replies, dataclasses.replace(CFG, question_vote="effective")) == [1] * 4
    assert _labels(replies, dataclasses.replace(CFG, question_vote="ineffective")) == [0] * 4
    # a question after thanks stays gratitude; a question after a rejection stays rejection
    assert _labels([["thank you. but why does this happen?"], ["That didn't help, what else is there?"]]) == [1, 0]


def test_the_op_going_on_about_their_own_distress_abstains_and_scope_all_restores_the_old_rule():
    distress = [["I've been shaking all evening and I'm terrified"], ["My GP put me on two different meds and neither worked"],
                ["i just feel so empty and nobody at home notices"], ["I'm 19 and still live with my parents, if that helps"],
                ["Honestly everything is falling apart and I hate my life"]]
    assert _labels(distress) == [None] * 5
    assert _labels(distress[:1] + distress[2:3] + distress[4:], dataclasses.replace(CFG, sentiment_scope="all")) == [0, 0, 0]
    assert _labels([["ok"], ["Possibly, school is coming up"], []]) == [None, None, None]


def test_negative_sentiment_aimed_at_the_comment_votes_ineffective():
    aimed = [["You're being really rude and dismissive."], ["That's a horrible thing to say."],
             ["Your advice is awful."]]
    assert _labels(aimed) == [0, 0, 0]
    assert _votes(aimed).evidence.tolist() == ["sentiment"] * 3
    assert _labels(aimed, dataclasses.replace(CFG, sentiment_scope="none")) == [None] * 3
    # a generic "you" inside a sentence, or a sentence about the OP, is not aimed at the commenter
    assert _labels([["It's awful when people are mad at you for nothing."], ["You made me cry, I'm such a mess"]]) == [None, None]


@pytest.mark.parametrize("text", ["I'll give journaling a go tonight", "gonna try that this weekend",
                                  "I plan on calling the helpline tomorrow", "Will do.", "I'm going to try that",
                                  "I will definitely look into it", "ill give it a try"])
def test_a_stated_plan_to_act_on_the_comment_votes_effective(text):
    assert _labels([[text]]) == [1]
    assert _votes([[text]]).evidence.tolist() == ["plan"]
    assert _labels([[text]], dataclasses.replace(CFG, plan_vote="abstain")) == [None]


@pytest.mark.parametrize("text", ["I'll try not to overthink it", "I'll try to explain better later, I'm tired",
                                  "I'm 17 and in college if that helps", "my therapist is going to try a new approach",
                                  "it didn't work out with my ex and I'm still sad", "the meds they gave me do not work",
                                  "my job is stressful which doesn't help my anxiety", "it doesn't help that my dad drinks"])
def test_words_about_the_ops_own_life_are_no_evidence_about_the_comment(text):
    assert _labels([[text]]) == [None]


@pytest.mark.parametrize("text", ["that doesn't really help when you can't even get out of bed",
                                  "Everyone tells me that. It doesn't change anything.", "I've already tried that",
                                  "it wouldn't get me anywhere", "That's not an option for me.", "Doesn't help."])
def test_rejections_of_the_comment_vote_ineffective(text):
    assert _labels([[text]]) == [0]
    assert _votes([[text]]).evidence.tolist() == ["rejection"]


@pytest.mark.parametrize("text", ["Yes that sounds good to me!", "That'd be really kind of you, thanks for offering",
                                  "Big love bro"])
def test_warm_acknowledgements_vote_effective(text):
    assert _labels([[text]]) == [1]


def test_one_late_reply_cannot_flip_the_label():
    rejected_then_polite = [["That didn't help.", "You don't get it, it's not that simple.", "thanks anyway"]]
    assert _labels(rejected_then_polite) == [0]
    thanked_then_one_rejection = [["Thank you so much!", "That didn't work though"]]
    assert _labels(thanked_then_one_rejection) == [1]
    # two later replies agreeing do overturn the first
    assert _labels([["That didn't help.", "thanks, actually it did", "it really helped"]]) == [1]
    # an explicit late thanks outweighs an earlier vote from sentiment alone (sentiment_weight)
    assert _labels([["That's a horrible thing to say.", "thank you, it made me feel better"]]) == [1]
    assert _votes([["That's a horrible thing to say.", "thank you, it made me feel better"]]).evidence.tolist() == ["gratitude"]
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


def test_on_real_dyadic_threads_every_verdict_rests_on_evidence_about_the_comment(shared_data, tmp_path):
    """red-mhs: 361 units, every one with an OP reply. No vote comes from a follow-up question, every
    "ineffective" rests on a rejection or on sentiment aimed at the comment, and the labeler still
    labels most units with both classes."""
    from redditess.config import DumpConfig, FilterConfig
    from redditess.sources.dump import RecordStore, read_dumps
    from redditess.threads import build_units

    store = RecordStore(tmp_path / "store.sqlite")
    read_dumps(DumpConfig(paths=[str(shared_data / "red-mhs" / "*.ndjson")]), False, store)
    units, _, _ = build_units(list(store.records("submission")), list(store.records("comment")),
                              FilterConfig(require_edited_post=False), set())
    assert len(units) > 300 and units.op_replies.map(len).gt(0).all()
    votes = op_reply(units, CFG)
    assert votes.label.isna().mean() < 0.5 and set(votes.label.dropna()) == {0, 1}
    assert "question" not in set(votes.evidence.dropna())
    assert set(votes.evidence[votes.label == 0]) <= {"rejection", "sentiment"}
    old = op_reply(units, dataclasses.replace(CFG, question_vote="effective", sentiment_scope="all"))
    assert (old.label == 0).sum() > 3 * (votes.label == 0).sum()  # the old rule read the OP's distress as a verdict


@pytest.mark.parametrize("bias, expected", [([6.0, 0.0, 0.0], 0), ([0.0, 0.0, 6.0], None)])
def test_local_transformer_sentiment_replaces_vader(tmp_path, bias, expected):
    """A saved sentiment classifier in a local directory (here a tiny BERT whose head is fixed to
    one class) decides the replies no pattern matched (a sentence to the commenter); nothing is downloaded."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "you", "went", "to", "work", "today"]) + "\n")
    tok = BertTokenizerFast(vocab_file=str(vocab))
    config = BertConfig(vocab_size=11, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
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
    assert _labels([["you went to work today"], ["thanks"]], cfg) == [expected, 1]
