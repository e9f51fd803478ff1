"""A seeded simulator of mental-health help-seeking threads in Pushshift format: the demo testbed.

Every post states a *need* in words (advice or a plan; to be heard; reassurance about itself;
whether anyone else has been through it) and has a *topic* with concrete details (an event, a
feeling, a detail sentence), all from :data:`redditess.gold.TOPICS`. Comments are composed sentence
by sentence — support of the five kinds (informational, emotional, esteem, network, tangible), each
either specific to this post (its topic's resources and strategies, its own event or feeling) or
generic, dismissive remarks, chatter, neutral openers and closers — into one of the comment shapes
of :data:`SHAPES` (the matching support; the wrong kind; generic; another topic's advice; advice to
someone who asked to be heard; every kind at once; dismissive; cut off mid-sentence; chatter).

**The truth is a function of the text.** Each comment's hidden effectiveness is
:func:`redditess.gold.judge` of (post, comment): no coin flip, no length. The shapes are mixed so that
effective and ineffective comments overlap in length (short generic or dismissive comments, long
"every kind at once" ones): ``metrics/aggregate.json`` reports the Spearman correlation of length
with the truth. Texts are composed from post-specific parts, so nearly all are distinct.

The signals the labelers see follow the truth with noise set in params (``collect.demo``): the OP's
reply tone (``op_reply_noise``; ``op_reply_engagement`` replies carry no verdict at all), the score
(``vote_noise``) and the post's "EDIT:" line (``edit_noise``). Bots, spam, deleted and removed
items, survey posts, unedited posts and deeper reply chains are mixed in so the thread filters have
real work. The truth (``truth``: comment, post, shape, the kinds of support gold found, effective,
the post's need and topic) goes to ``data/raw/truth.parquet``, read only by checks and the
evaluation's gold scoring.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from redditess.config import DemoConfig
from redditess.gold import NEED_FORBIDS, NEED_KINDS, NEEDS, TOPICS, judge

# --------------------------------------------------------------------------- posts
POST_TEMPLATES = [
    "I've been feeling {feeling} since {event}. {detail} {ask}",
    "Since {event} I feel {feeling}. {detail} {ask}",
    "Throwaway because I'm embarrassed. {detail} It started when {event} and I feel {feeling}. {ask}",
    "{detail} I've felt {feeling} ever since {event}. {ask}",
    "Long post, sorry. {event_cap} a while ago and now I'm {feeling}. {detail} {ask}",
    "{event_cap}. Ever since, I've been {feeling}. {detail} {ask}",
]
ASKS = {
    "advice": ["Does anyone have advice?", "What should I do?", "Any tips would mean a lot.", "I need a practical plan.",
               "What can I do to get through this?", "Are there any resources that actually help?"],
    "heard": ["I don't want advice, I just need someone to listen.", "I just need to get this off my chest.",
              "Please don't give me solutions, I just want to be heard.", "I just need to vent tonight."],
    "reassurance": ["Am I a bad person for feeling this way?", "Is something wrong with me?", "Please tell me I'm not broken.",
                    "Is it normal to feel like this?", "Am I weak for not coping?"],
    "similar": ["Has anyone else been through this?", "Does anyone else feel like this?", "Is it just me?",
                "Has anyone gone through the same thing?"],
}
TITLES = {
    None: ["Feeling {feeling}", "I don't know how to handle this anymore", "Struggling since {event}", "Rough week",
           "Can't shake this"],
    "advice": ["Need some advice please", "What do I do?"],
    "heard": ["I just need to vent", "Please just listen"],
    "reassurance": ["Am I broken?", "Is something wrong with me?"],
    "similar": ["Has anyone else been through this?", "Is it just me?"],
}

# --------------------------------------------------------------------------- support sentences
# Specific sentences carry the post's own topic or details; generic ones could answer any post.
SPECIFIC = {
    "informational": [
        "Have you looked into {resource}? It was made for exactly this.",
        "It might be worth asking about {resource}, a lot of people find it helps within a few weeks.",
        "Have you heard of {resource}? It is often recommended for this and usually cheap to try.",
        "You could look into {resource}, it is designed for what you describe.",
        "Have you considered {resource}? It helped a friend of mine in the same spot.",
    ],
    "tangible": [
        "One thing that helped me was to {strategy}.",
        "Try this for a week: {strategy}.",
        "A practical step: {strategy}, and start small.",
        "What worked for me was to {strategy}.",
        "Maybe tonight you could {strategy}.",
        "A small thing to try: {strategy}.",
    ],
    "emotional": [
        "I'm so sorry about {ref}, that sounds really painful.",
        "Feeling {feeling} after {ref} must be so heavy.",
        "Sending you a big hug, {ref} is a lot to carry.",
        "I hear you, being {feeling} like that sounds exhausting.",
        "I'm so sorry you're dealing with {ref}, that sounds really hard.",
    ],
    "esteem": [
        "Reaching out after {ref} takes real courage, you are stronger than you think.",
        "Your feelings are valid, being {feeling} does not make you weak.",
        "Still trying after {ref} says a lot about you, be proud of that.",
        "You're not broken for feeling {feeling}, you are a person dealing with a lot.",
        "Getting through {ref} at all takes courage, so be proud of that.",
    ],
    "network": [
        "I went through the same thing when {event}, you're not alone.",
        "Same here, {event} and I felt exactly like this for months.",
        "You're not the only one, {event} last year and this community got me through.",
        "I know this feeling, {event} and a lot of us here get it.",
    ],
}
GENERIC = {
    "informational": ["Have you looked into getting some professional help? It might make a difference.",
                      "It might be worth asking about professional help for this.",
                      "There's something called self-help, maybe look online."],
    "tangible": ["One thing that helped me was to just keep busy.", "Try this for a week: be kinder to yourself.",
                 "A practical step: take it one day at a time."],
    "emotional": ["I'm so sorry you're going through this, that sounds really painful.", "Sending you a big hug.",
                  "I hear you, that sounds exhausting."],
    "esteem": ["You are stronger than you think.", "Your feelings are valid.", "Be proud of yourself for posting."],
    "network": ["You're not the only one, a lot of us here get it.", "Same here honestly.", "I know this feeling."],
}
DISMISSIVE = [
    "Just get over it, everyone has problems.",
    "Honestly you're overthinking it, just stop worrying.",
    "It's not a big deal, everyone feels {feeling} sometimes.",
    "Have you tried not being {feeling}? lol",
    "Man up, {ref} happens to everyone.",
    "Nobody cares, that's life.",
    "Could be worse, at least you have a roof over your head.",
    "Stop complaining and get on with it.",
]
CHATTER = [
    "Did you see the game last night? Crazy ending.",
    "This is why I don't use reddit anymore.",
    "Random question but what phone do you use?",
    "First time commenting here, not sure what to say.",
    "Is this subreddit always this quiet?",
    "Commenting so I can find this later.",
]
OPENERS = ["I've been lurking here for a while.", "Long time reader, first comment.", "Reading this on my lunch break.",
           "I'm on mobile so excuse the formatting.", "It took me a while to write this.", "Saw this on my way to work.",
           "Hey.", "Hi there.", "Okay, so.", "Just read your post.", "I don't usually comment.", "Quick reply from the bus."]
CLOSERS = ["Take care.", "Wishing you the best.", "Hang in there.", "Keep us posted.", "Good luck with everything.",
           "Hope tomorrow is kinder.", "Rooting for you.", "One day at a time.", "Message me any time.", "You've got this."]
MIDDLE = ["It is not the same for everyone, obviously.", "I know it is a lot to read.", "Hopefully this makes sense.",
          "I'm not an expert, just my two cents.", "This might sound obvious."]

# Comment shapes and their weights among human comments (bots and spam come first). Each shape is
# built by ``_compose``; which of them gold calls effective is gold's business, not the shape's.
SHAPES = {
    "matched": 0.47, "wrong_kind": 0.12, "generic": 0.10, "other_topic": 0.06, "unsolicited": 0.04,
    "everything": 0.09, "dismissive": 0.06, "cut_off": 0.04, "chatter": 0.02,
}

# --------------------------------------------------------------------------- OP replies, edits
OP_POSITIVE = [
    "Thank you so much, this really helps. I'll try {echo} tomorrow.",
    "Thanks, that means a lot. I hadn't thought about it like that.",
    "I really appreciate this.",
    "Thank you, I feel a little lighter reading this. I'll give it a go.",
    "This helped more than you know, thank you.",
    "You're right, that makes a lot of sense. Thanks.",
]
OP_NEGATIVE = [
    "I've already tried that and it didn't work.",
    "That's not really helpful, but ok.",
    "I don't think you understand what I'm going through.",
    "Wow. That is exactly why I hate posting here.",
    "That honestly made me feel worse.",
    "That's not what I was asking for.",
]
OP_NEUTRAL = ["ok", "Maybe.", "I'm not sure.", "Yeah I guess."]
OP_ENGAGEMENT = [  # no verdict on the comment: a follow-up question, or more of the OP's own distress
    "How long did it take before things changed for you?",
    "Did you tell anyone at the time?",
    "What do you do on the really bad days?",
    "It's just so hard right now, I can't stop crying.",
    "Today was even worse, I didn't leave my room.",
    "I keep going round in circles in my head.",
]
COMMENTER_FOLLOWUPS = [
    "Glad it helped. Keep us posted on how it goes!",
    "Anytime. Be gentle with yourself.",
    "Sorry, I didn't mean it like that.",
    "Fair enough, I hope something works out for you.",
]
OP_DEEP_POSITIVE = ["Will do, thanks again!", "Thank you, I really needed this today."]
OP_DEEP_NEGATIVE = ["Whatever.", "It's fine, I'm used to it."]
EDIT_POSITIVE = [
    "EDIT: Thank you all so much for the kind words, I read every comment and I feel less alone.",
    "Edit: wow, thank you everyone. I'm going to try some of your suggestions this week.",
    "UPDATE: I talked to my doctor like some of you suggested. Thank you, this sub is amazing.",
]
EDIT_NEGATIVE = [
    "EDIT: honestly most of these replies made me feel worse. Never mind.",
    "Edit: I regret posting this. Nobody gets it.",
]
EDIT_NEUTRAL = ["EDIT: formatting.", "Edit: typo."]
OP_GENERAL_POSITIVE = ["Thanks everyone for replying, it really means a lot.", "I appreciate all of you, thank you."]
OP_GENERAL_NEGATIVE = ["I don't think posting was a good idea. Nothing here helps."]

BOT_BODIES = [
    ("AutoModerator", "Thank you for posting. If you are in crisis, please contact a crisis line. "
     "*I am a bot, and this action was performed automatically. Please contact the moderators of this subreddit if you have any questions or concerns.*"),
    ("RemindMeBot", "I will be messaging you in 2 days to remind you of this link. ^(I am a bot.)"),
    ("helpful_resources_bot", "Here are some resources that might help you. I am a bot. Beep boop."),
]
SPAM = [
    "Check out my new app MindBoost, use code HEAL20 for 20% off your first month!",
    "Earn money from home while you heal! Click the link in my profile, limited spots.",
    "Buy our calming gummies today, free shipping on all orders this week.",
]
SURVEYS = [
    ("Participants needed for a study on mental health (10 min survey)",
     "Hi everyone, I'm a psychology student recruiting participants for my dissertation survey. "
     "It takes about 10 minutes and is completely anonymous. Please fill out the questionnaire at the link!"),
    ("[Academic] Survey about anxiety and social media",
     "We are conducting research on anxiety and social media use. Participants must be 18+. Take our survey!"),
]
B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class DemoOutput:
    submissions: list[dict]
    comments: list[dict]
    truth: list[dict]
    """One row per comment: comment_id, post_id, kind (its shape; bot, spam), dimensions (the kinds of
    support gold found), effective (gold's verdict; None for bots and spam), need, topic (the post's)."""


@dataclass(frozen=True)
class _Post:
    topic: str
    need: str
    feeling: str
    event: tuple[str, str, str]


def _b36(n: int, width: int) -> str:
    out = ""
    for _ in range(width):
        n, r = divmod(n, 36)
        out = B36[r] + out
    return out


def _author(rng: random.Random) -> str:
    return "user_" + hashlib.sha1(str(rng.random()).encode()).hexdigest()[:10]


def _sentence(rng: random.Random, kind: str, post: _Post, specific: bool, topic: str | None = None) -> str:
    """One support sentence of ``kind``: specific to ``post`` (or, for advice kinds, to ``topic``'s
    resources and strategies: another topic's advice), or generic."""
    if not specific:
        return rng.choice(GENERIC[kind])
    world = TOPICS[topic or post.topic]
    event = rng.choice(TOPICS[post.topic]["events"])[0] if kind == "network" else post.event[0]
    return rng.choice(SPECIFIC[kind]).format(resource=rng.choice(world["resources"]), strategy=rng.choice(world["strategies"]),
                                             ref=post.event[2], feeling=post.feeling, event=event)


def _kinds(rng: random.Random, pool, k: int) -> list[str]:
    return rng.sample(sorted(pool), k=min(k, len(pool)))


def _compose(rng: random.Random, shape: str, post: _Post) -> str:
    """The support sentences of a comment of ``shape`` (before openers and closers)."""
    kinds = ("informational", "emotional", "esteem", "network", "tangible")
    need_kinds, forbidden = NEED_KINDS[post.need], NEED_FORBIDS[post.need]
    allowed_extra = [k for k in kinds if k not in need_kinds and k not in forbidden]
    if shape in ("matched", "cut_off"):
        parts = [_sentence(rng, rng.choice(sorted(need_kinds)), post, True)]
        if rng.random() < 0.4 and allowed_extra:
            parts.insert(rng.randrange(2), _sentence(rng, rng.choice(allowed_extra), post, rng.random() < 0.6))
        return " ".join(parts)
    if shape == "wrong_kind":
        wrong = [k for k in kinds if k not in need_kinds]
        return " ".join(_sentence(rng, k, post, True) for k in _kinds(rng, wrong, 1 + (rng.random() < 0.4)))
    if shape == "generic":
        parts = [_sentence(rng, rng.choice(sorted(need_kinds)), post, False)]
        if rng.random() < 0.5 and allowed_extra:
            parts.append(_sentence(rng, rng.choice(allowed_extra), post, False))
        return " ".join(parts)
    if shape == "other_topic":
        other = rng.choice(sorted(t for t in TOPICS if t != post.topic))
        advice = rng.choice(["informational", "tangible"])
        parts = [_sentence(rng, advice, post, True, topic=other)]
        if rng.random() < 0.5:
            parts.insert(0, _sentence(rng, rng.choice(sorted(need_kinds)), post, True))
        return " ".join(parts)
    if shape == "unsolicited":  # advice to someone who asked to be heard (or, elsewhere, a second advice kind)
        return " ".join([_sentence(rng, rng.choice(sorted(need_kinds)), post, True),
                         _sentence(rng, rng.choice(["informational", "tangible"]), post, True)])
    if shape == "everything":
        chosen = [rng.choice(sorted(need_kinds))] + _kinds(rng, [k for k in kinds if k not in need_kinds], rng.choice([2, 3]))
        rng.shuffle(chosen)
        return " ".join(_sentence(rng, k, post, True) for k in chosen)
    if shape == "dismissive":
        rude = rng.choice(DISMISSIVE).format(feeling=post.feeling, ref=post.event[2])
        if rng.random() < 0.4:
            return " ".join([_sentence(rng, rng.choice(sorted(need_kinds)), post, True), rude])
        return rude
    return rng.choice(CHATTER)


def _cut(rng: random.Random, text: str) -> str:
    """``text`` cut off mid-sentence: the last sentence loses its second half and its full stop."""
    words = text.split()
    keep = max(2, len(words) - rng.randint(3, max(3, len(words) // 2)))
    out = " ".join(words[:keep]).rstrip(".!?,;:")
    return out if out != text else out + " and"


def comment_text(rng: random.Random, shape: str, post: _Post) -> str:
    """A whole comment of ``shape`` for ``post``: its support sentences between optional neutral
    openers, middles and closers (which vary length and wording independently of the shape)."""
    core = _compose(rng, shape, post)
    parts = [core]
    if shape != "chatter":
        if rng.random() < 0.45:
            parts.insert(0, rng.choice(OPENERS))
        if rng.random() < 0.2:
            parts.insert(len(parts) - 1 if rng.random() < 0.5 else len(parts), rng.choice(MIDDLE))
        if rng.random() < 0.5:
            parts.append(rng.choice(CLOSERS))
    text = " ".join(parts)
    return _cut(rng, text) if shape == "cut_off" else text


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    roll, acc = rng.random() * sum(weights.values()), 0.0
    for name, w in weights.items():
        acc += w
        if roll < acc:
            return name
    return name


def simulate(cfg: DemoConfig, seed: int) -> DemoOutput:
    """Simulate ``cfg.n_threads`` threads; the same seed always gives the same records."""
    rng = random.Random(f"demo:{seed}")
    submissions: list[dict] = []
    comments: list[dict] = []
    truth: list[dict] = []
    id_counter = iter(range(10**6, 10**9))
    span = max(1, cfg.end_utc - cfg.start_utc)

    def comment(post: dict, parent: str, author: str, body: str, created: int, score: int, **extra) -> dict:
        cid = _b36(next(id_counter) * 7919 % 36**7, 7)
        rec = {
            "id": cid, "name": f"t1_{cid}", "link_id": f"t3_{post['id']}", "parent_id": parent,
            "author": author, "body": body, "created_utc": created, "score": score, "ups": max(score, 0),
            "edited": False, "subreddit": post["subreddit"], "subreddit_id": post["subreddit_id"],
            "is_submitter": author == post["author"], "distinguished": None, "controversiality": 0,
            "gilded": 0, "archived": False, "score_hidden": False,
        }
        rec.update(extra)
        comments.append(rec)
        return rec

    def op_reply(effective: bool, topic: str) -> str:
        if rng.random() < cfg.op_reply_engagement:
            return rng.choice(OP_ENGAGEMENT)
        tone = ("positive" if effective else "negative") if rng.random() >= cfg.op_reply_noise else \
            rng.choice(["positive", "neutral", "negative"])
        reply = rng.choice({"positive": OP_POSITIVE, "neutral": OP_NEUTRAL, "negative": OP_NEGATIVE}[tone])
        return reply.format(echo=rng.choice(TOPICS[topic]["strategies"]).split(",")[0])

    for _ in range(cfg.n_threads):
        sub = rng.choice(cfg.subreddits)
        topic_name = rng.choice(sorted(TOPICS))
        topic = TOPICS[topic_name]
        need = rng.choice(NEEDS)
        the = _Post(topic_name, need, rng.choice(topic["feelings"]), rng.choice(topic["events"]))
        pid = _b36(next(id_counter) * 104729 % 36**6, 6)
        created = cfg.start_utc + rng.randrange(span)
        op = _author(rng)
        is_survey = rng.random() < 0.04
        event = the.event[0]
        if is_survey:
            title, body = rng.choice(SURVEYS)
        else:
            title = rng.choice(TITLES[None] + TITLES[need]).format(feeling=the.feeling, event=event)
            body = rng.choice(POST_TEMPLATES).format(feeling=the.feeling, event=event, event_cap=event[0].upper() + event[1:],
                                                     detail=rng.choice(topic["details"]), ask=rng.choice(ASKS[need]))
        post = {
            "id": pid, "name": f"t3_{pid}", "author": op, "title": title, "selftext": body,
            "subreddit": sub, "subreddit_id": "t5_" + hashlib.sha1(sub.encode()).hexdigest()[:5],
            "created_utc": created, "score": rng.randint(1, 40), "edited": False, "is_self": True,
            "over_18": False, "stickied": False, "num_comments": 0, "link_flair_text": topic_name,
            "permalink": f"/r/{sub}/comments/{pid}/", "url": f"https://www.reddit.com/r/{sub}/comments/{pid}/",
        }
        post_text = f"{title}\n{body}"
        roll = rng.random()
        if roll < 0.03:
            post["selftext"], post["author"] = "[deleted]", "[deleted]"
        elif roll < 0.05:
            post["selftext"] = "[removed]"
        submissions.append(post)

        t = created
        first_comment = len(comments)
        effective_count = 0
        n_comments = rng.randint(2, 7)
        for _c in range(n_comments):
            t += rng.randint(60, 7200)
            kind_roll = rng.random()
            author = _author(rng)
            base = dict(post_id=pid, dimensions=[], effective=None, need=need, topic=topic_name)
            if kind_roll < 0.06:
                bot, text = rng.choice(BOT_BODIES)
                c = comment(post, post["name"], bot, text, t, 1)
                truth.append(dict(base, comment_id=c["id"], kind="bot"))
                continue
            if kind_roll < 0.09:
                c = comment(post, post["name"], author, rng.choice(SPAM), t, rng.randint(-5, 1))
                truth.append(dict(base, comment_id=c["id"], kind="spam"))
                continue
            shape = _pick(rng, SHAPES)
            text = comment_text(rng, shape, the)
            verdict = judge(post_text, text) if not is_survey else None
            effective = bool(verdict and verdict.effective)
            effective_count += effective
            score = max(-8, int(round(rng.gauss(5.5 if effective else 0.5, cfg.vote_noise))))
            deleted = rng.random() < 0.04
            c = comment(
                post, post["name"], "[deleted]" if deleted else author,
                rng.choice(["[deleted]", "[removed]"]) if deleted else text, t, score,
            )
            truth.append(dict(base, comment_id=c["id"], kind=shape, dimensions=list(verdict.kinds) if verdict else [],
                              effective=None if verdict is None else effective))
            if deleted:
                continue
            # The OP answers most comments; the tone follows the gold verdict, noisily.
            if rng.random() < cfg.op_reply_rate:
                t2 = t + rng.randint(300, 36000)
                r1 = comment(post, c["name"], post["author"], op_reply(effective, topic_name), t2, rng.randint(1, 4))
                if rng.random() < 0.3:
                    t3 = t2 + rng.randint(120, 7200)
                    r2 = comment(post, r1["name"], author, rng.choice(COMMENTER_FOLLOWUPS), t3, rng.randint(1, 3))
                    if rng.random() < 0.5:
                        deep = OP_DEEP_POSITIVE if effective else OP_DEEP_NEGATIVE
                        comment(post, r2["name"], post["author"], rng.choice(deep), t3 + rng.randint(60, 3600), 1)

        # Post-level general feedback follows how well the thread went overall, noisily.
        went_well = effective_count >= max(1, n_comments // 3)
        if rng.random() < cfg.edit_noise:
            went_well = rng.random() < 0.5
        if not is_survey and rng.random() < 0.85 and post["author"] != "[deleted]":
            edit = rng.choice(EDIT_POSITIVE if went_well else EDIT_NEGATIVE)
            if rng.random() < 0.1:
                edit = rng.choice(EDIT_NEUTRAL)
            post["selftext"] = f"{post['selftext']}\n\n{edit}"
            post["edited"] = t + rng.randint(600, 86400)
        if rng.random() < 0.25 and post["author"] != "[deleted]":
            general = rng.choice(OP_GENERAL_POSITIVE if went_well else OP_GENERAL_NEGATIVE)
            comment(post, post["name"], post["author"], general, t + rng.randint(60, 3600), 1)
        post["num_comments"] = len(comments) - first_comment

    return DemoOutput(submissions, comments, truth)
