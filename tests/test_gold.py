"""The gold oracle decides effectiveness from what a post and a response say, for any text."""

import itertools
import random
from collections import Counter

import pytest
from scipy.stats import spearmanr

from redditess.config import DemoConfig
from redditess.dedup import normalise_text
from redditess.gold import CHECKS, KIND_CUES, TOPICS, gold, gold_score, judge, normalise, post_need, post_topic
from redditess.sources import demo
from redditess.sources.demo import GENERIC, SPECIFIC, simulate

ADVICE_POST = ("Need some advice please\nI've been feeling desperate for sleep since my insomnia got worse. "
               "I fall asleep at four and my alarm goes off at seven. What should I do?")
HEARD_POST = ("I just need to vent\nSince my mum died I feel broken by grief. I keep picking up my phone to call them. "
              "I don't want advice, I just need someone to listen.")
REASSURE_POST = "Am I broken?\nSince we had layoffs I feel like a failure. I dream about my inbox. Am I a bad person for feeling this way?"
SIMILAR_POST = ("Rough week\nSince I moved away for university I feel completely alone. I go whole weekends without speaking "
                "to anyone. Has anyone else been through this?")


@pytest.mark.parametrize("post,response", [
    (ADVICE_POST, "Have you looked into CBT for insomnia? It was made for exactly this."),
    (ADVICE_POST, "Hey. Try this for a week: put your phone in another room. Take care."),
    (HEARD_POST, "I'm so sorry about losing your mum, that sounds really painful."),
    (HEARD_POST, "Feeling broken by grief after losing your mum must be so heavy. You're not the only one, "
                 "my brother died suddenly last year and this community got me through."),
    (REASSURE_POST, "Your feelings are valid, being like a failure does not make you weak."),
    (REASSURE_POST, "Still trying after the layoffs says a lot about you, be proud of that."),
    (SIMILAR_POST, "I went through the same thing when my roommate moved out, you're not alone."),
])
def test_the_right_kind_of_support_for_this_post_is_effective(post, response):
    v = judge(post, response)
    assert v.effective and v.score == 1.0 and all(v.checks.values())
    assert gold(post, response) == 1


@pytest.mark.parametrize("post,response,failed", [
    # the wrong kind of help: comfort for a post that asked what to do, advice for one that asked to be heard
    (ADVICE_POST, "I'm so sorry about the insomnia getting worse, that sounds really painful.", "need_met"),
    (HEARD_POST, "I'm so sorry about losing your mum, that sounds really painful. "
                 "One thing that helped me was to write them a letter about your day.", "welcome"),
    (SIMILAR_POST, "Your feelings are valid, being completely alone does not make you weak.", "need_met"),
    # another topic's advice (resources for anxiety to a sleep post), alone or next to the right one
    (ADVICE_POST, "Have you looked into cognitive behavioural therapy? It was made for exactly this.", "specific"),
    (ADVICE_POST, "Have you looked into CBT for insomnia? Also try this for a week: cut back on coffee after noon.", "own_topic"),
    # generic support that could answer any post
    (HEARD_POST, "I'm so sorry you're going through this, that sounds really painful.", "specific"),
    # every kind at once: the "talk too much" failure, however long and well meant
    (ADVICE_POST, "Have you looked into a sleep clinic? It was made for exactly this. I'm so sorry about the insomnia "
                  "getting worse, that sounds really painful. Your feelings are valid, being desperate for sleep does not "
                  "make you weak. I went through the same thing when I started night shifts, you're not alone.", "focused"),
    # dismissive, even next to good advice
    (ADVICE_POST, "Have you looked into a sleep clinic? Honestly you're overthinking it, just stop worrying.", "respectful"),
    # a cut-off sentence
    (ADVICE_POST, "Have you looked into a sleep clinic? It was made for exactly", "complete"),
    (ADVICE_POST, "", "need_met"),
])
def test_wrong_kind_other_topic_everything_at_once_dismissive_or_cut_off_is_not(post, response, failed):
    v = judge(post, response)
    assert not v.effective and gold(post, response) == 0
    assert not v.checks[failed]
    assert 0 <= v.score < 1


def test_posts_state_their_need_and_topic_in_words():
    assert [post_need(p) for p in (ADVICE_POST, HEARD_POST, REASSURE_POST, SIMILAR_POST)] == \
        ["advice", "heard", "reassurance", "similar"]
    assert [post_topic(p)[0] for p in (ADVICE_POST, HEARD_POST, REASSURE_POST, SIMILAR_POST)] == \
        ["sleep", "grief", "work_stress", "loneliness"]
    # a post outside the testbed (no need stated, no topic named) has no gold verdict
    assert judge("Hello\nMy cat likes boxes.", "Have you looked into a sleep clinic?") is None
    assert gold_score("Hello\nMy cat likes boxes.", "ok") is None


def test_the_score_is_the_share_of_checks_and_grades_partial_answers():
    full = gold_score(ADVICE_POST, "Have you looked into a sleep clinic? It was made for exactly this.")
    off_topic = gold_score(ADVICE_POST, "Have you looked into an anxiety workbook? It was made for exactly this.")
    rude = gold_score(ADVICE_POST, "Nobody cares, that's life")
    assert full == 1.0 > off_topic > rude
    assert off_topic == pytest.approx((len(CHECKS) - 2) / len(CHECKS))  # not specific, not its own topic


def test_no_phrase_of_one_topic_is_inside_another_topics():
    phrases = {t: [normalise(p) for p in v["resources"] + v["strategies"] + v["feelings"]] +
               [normalise(k) for _, k, _ in v["events"]] for t, v in TOPICS.items()}
    for a, b in itertools.permutations(TOPICS, 2):
        for p, q in itertools.product(phrases[a], phrases[b]):
            assert f" {p} " not in f" {q} ", (a, p, b, q)
    for topic in TOPICS.values():  # a reply's reference to an event names the event's key
        for text, key, ref in topic["events"]:
            assert key in text and key in ref


def test_every_sentence_template_is_read_as_its_own_kind():
    rng = random.Random(0)
    for kind, templates in SPECIFIC.items():
        for template, topic in itertools.product(templates, TOPICS):
            world = TOPICS[topic]
            event = rng.choice(world["events"])
            text = template.format(resource=rng.choice(world["resources"]), strategy=rng.choice(world["strategies"]),
                                   ref=event[2], feeling=rng.choice(world["feelings"]), event=event[0])
            assert {k for k, pat in KIND_CUES.items() if pat.search(normalise(text))} == {kind}, text
    for kind, sentences in GENERIC.items():
        for text in sentences:
            assert {k for k, pat in KIND_CUES.items() if pat.search(normalise(text))} == {kind}, text
    for filler in demo.OPENERS + demo.CLOSERS + demo.MIDDLE + demo.CHATTER:
        assert not any(p.search(normalise(filler)) for p in KIND_CUES.values()), filler


@pytest.fixture(scope="module")
def simulated():
    return simulate(DemoConfig(), 20240917)


def test_the_simulators_truth_is_gold_of_its_text(simulated):
    posts = {p["id"]: p for p in simulated.submissions}
    comments = {c["id"]: c for c in simulated.comments}
    checked = 0
    for t in simulated.truth:
        if t["effective"] is None:
            continue
        post, body = posts[t["post_id"]], comments[t["comment_id"]]["body"]
        if body in ("[deleted]", "[removed]"):
            continue
        body_as_written = post["selftext"].split("\n\nEDIT")[0].split("\n\nEdit")[0].split("\n\nUPDATE")[0]
        if body_as_written in ("[deleted]", "[removed]"):  # the post's text is gone: nothing to judge against
            continue
        text = f"{post['title']}\n{body_as_written}"
        assert gold(text, body) == int(t["effective"])
        checked += 1
    assert checked > 1500


def test_length_does_not_decide_and_texts_are_distinct(simulated):
    comments = {c["id"]: c for c in simulated.comments}
    rows = [(t, comments[t["comment_id"]]["body"]) for t in simulated.truth
            if t["effective"] is not None and comments[t["comment_id"]]["body"] not in ("[deleted]", "[removed]")]
    truth = [int(t["effective"]) for t, _ in rows]
    words = [len(b.split()) for _, b in rows]
    assert 0.35 < sum(truth) / len(truth) < 0.65
    assert abs(spearmanr(words, truth).statistic) <= 0.15
    norm = Counter(normalise_text(b) for _, b in rows)
    assert sum(norm[normalise_text(b)] == 1 for _, b in rows) / len(rows) >= 0.9
    # effective and ineffective comments overlap in length: long ineffective ones exist and short effective ones
    eff = sorted(w for w, e in zip(words, truth, strict=True) if e)
    ineff = sorted(w for w, e in zip(words, truth, strict=True) if not e)
    assert ineff[int(0.9 * len(ineff))] > eff[int(0.9 * len(eff))] and ineff[int(0.1 * len(ineff))] <= eff[int(0.1 * len(eff))]
