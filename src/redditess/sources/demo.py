"""A seeded simulator of mental-health help-seeking threads in Pushshift format.

It exists so that every stage can run offline in minutes and so tests know the truth. Each post
gets comments of the five support types (informational, emotional, esteem/validation,
network/identification, tangible/strategic) or unhelpful ones, written by people, bots or spammers.
Each comment has a hidden *effectiveness*; the OP's follow-up replies, the post's "EDIT:" line and
the comment's score follow it noisily, the way the study's labelers assume real threads do.
Deleted and removed items, survey posts, unedited posts and deeper reply chains are mixed in so the
thread filters have real work. The hidden truth is returned separately and only tests read it.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from redditess.config import DemoConfig
from redditess.support import DIMENSIONS

TOPICS = {
    "anxiety": dict(
        feeling=["anxious all the time", "constantly on edge", "panicky", "scared of everything"],
        event=["I started a new job", "my exams began", "I moved to a new city", "my panic attacks came back"],
        detail=[
            "My heart races before every meeting and I can't breathe properly.",
            "I lie awake replaying every conversation I had during the day.",
            "I cancelled plans with friends three times this week because I felt sick with worry.",
            "Even checking my email makes my hands shake.",
        ],
        resource=["cognitive behavioural therapy", "a grounding exercise like 5-4-3-2-1", "box breathing", "an anxiety workbook"],
        strategy=["write the worry down and set a fifteen minute worry time", "breathe in for four, hold for four, out for six", "go for a short walk when the panic starts", "cut back on coffee after noon"],
    ),
    "depression": dict(
        feeling=["empty", "numb", "hopeless", "exhausted and low"],
        event=["my breakup", "I lost my job", "winter started", "I stopped my medication"],
        detail=[
            "I can't get out of bed most days and the dishes keep piling up.",
            "Nothing I used to enjoy feels worth doing anymore.",
            "I sleep twelve hours and still wake up tired.",
            "I haven't showered in days and I feel ashamed of it.",
        ],
        resource=["talking to your doctor about your medication", "behavioural activation", "a therapist who works with depression", "a local support group"],
        strategy=["pick one tiny task a day, like brushing your teeth", "open the curtains first thing in the morning", "set a timer for five minutes of tidying", "text one person each day, even just a meme"],
    ),
    "loneliness": dict(
        feeling=["completely alone", "invisible", "isolated", "like nobody would notice if I disappeared"],
        event=["I moved away for university", "my best friend stopped talking to me", "I started working from home", "my family moved abroad"],
        detail=[
            "I go whole weekends without speaking to anyone.",
            "Everyone in my group chat seems to have plans except me.",
            "I eat dinner alone every night watching videos of other people.",
            "I try to reach out but conversations always fizzle out.",
        ],
        resource=["volunteering", "a local club or meetup", "a peer support line", "community classes at the library"],
        strategy=["join one weekly activity and go three times before judging it", "say yes to the next small invitation", "message an old friend and suggest a specific day", "sit in a cafe instead of at home for an hour"],
    ),
    "work_stress": dict(
        feeling=["burnt out", "overwhelmed", "like a failure", "crushed by pressure"],
        event=["my manager doubled my workload", "I got a bad review", "we had layoffs", "I took on a second job"],
        detail=[
            "I work until midnight and still feel behind.",
            "I cry in the bathroom at work at least once a week.",
            "Sunday evenings make me feel sick.",
            "I snap at my partner because I have nothing left.",
        ],
        resource=["your employee assistance programme", "HR about a workload review", "a career counsellor", "occupational health"],
        strategy=["write a list of tasks and ask your manager to rank them", "block a lunch break in your calendar", "turn off work notifications after seven", "take one sick day to rest without guilt"],
    ),
    "sleep": dict(
        feeling=["wired but exhausted", "desperate for sleep", "foggy all day", "scared of bedtime"],
        event=["my insomnia got worse", "I started night shifts", "my baby was born", "my anxiety spiked"],
        detail=[
            "I fall asleep at four and my alarm goes off at seven.",
            "My thoughts race the moment my head hits the pillow.",
            "I've tried melatonin but nothing changes.",
            "I nap in the afternoon and then can't sleep at night.",
        ],
        resource=["CBT for insomnia", "a sleep clinic", "your GP about a sleep assessment", "a sleep diary"],
        strategy=["get up at the same time every day, even weekends", "leave the bedroom if you are awake for twenty minutes", "put your phone in another room", "keep the bedroom cool and dark"],
    ),
    "grief": dict(
        feeling=["broken", "lost", "angry at everyone", "stuck"],
        event=["my mum died", "my dog passed away", "my grandfather died last month", "I lost my best friend"],
        detail=[
            "Everyone expects me to be back to normal already.",
            "I keep picking up my phone to call them.",
            "I feel guilty when I laugh at something.",
            "I can't go into their room yet.",
        ],
        resource=["a grief counsellor", "a bereavement support group", "a hospice grief programme", "a book on grief"],
        strategy=["write them a letter about your day", "plan something gentle for the hard dates", "keep one object of theirs close", "tell your friends what kind of help you want"],
    ),
    # Crisis posts (suicidal ideation, self-harm) exist in every mental-health subreddit; they feed the
    # safety lane (redditess.crisis) and are kept out of the training targets by default.
    "crisis": dict(
        feeling=["like I want to die", "like everyone would be better off without me", "like there is no point in living", "like ending it all"],
        event=["my partner left me", "I relapsed on cutting", "I lost everything in a month", "my diagnosis came back"],
        detail=[
            "I've been thinking about killing myself every night this week.",
            "I started cutting myself again and I can't stop.",
            "I wrote a goodbye note last night and I don't know why I'm still here.",
            "I don't want to live anymore but I'm scared to tell anyone.",
        ],
        resource=["a crisis line like 988 or Samaritans on 116 123", "your GP or the emergency room today", "a crisis text line", "a crisis team"],
        strategy=["tell one person you trust how bad it is tonight", "put the things you could hurt yourself with out of reach", "stay somewhere with other people tonight", "make a safety plan with a counsellor"],
    ),
}

POST_TEMPLATES = [
    "I've been feeling {feeling} since {event}. {detail} {ask}",
    "Since {event} I feel {feeling}. {detail} {ask}",
    "Throwaway because I'm embarrassed. {detail} It started when {event} and I feel {feeling}. {ask}",
    "{detail} I've felt {feeling} ever since {event}. {ask}",
]
ASKS = [
    "Does anyone have advice?",
    "How do you cope with this?",
    "Has anyone been through something similar?",
    "I don't know what to do anymore.",
    "Any tips would mean a lot.",
]
TITLES = [
    "Feeling {feeling}",
    "I don't know how to handle this anymore",
    "Need some advice please",
    "Is it normal to feel {feeling}?",
    "Struggling since {event}",
]

SUPPORT_TEMPLATES = {
    "informational": [
        "Have you looked into {resource}? It is designed for exactly this and many people find it works within a few weeks.",
        "What you describe sounds a lot like something {resource} can help with. It might be worth asking about it.",
        "It can help to know this is very common. {resource} is often recommended and it is usually free or cheap to try.",
    ],
    "emotional": [
        "I'm so sorry you're going through this. That sounds really painful and exhausting.",
        "Sending you a big hug. It makes complete sense that you feel this way after everything.",
        "I hear you. Carrying all of that on your own must be so heavy.",
    ],
    "esteem": [
        "You are stronger than you think for reaching out here. That takes real courage.",
        "Your feelings are valid. You're not weak or broken, you're a person dealing with a lot.",
        "The fact that you're still trying says a lot about you. Be proud of that.",
    ],
    "network": [
        "I went through the same thing when {event_other}. You're not alone, a lot of us here get it.",
        "Same here, honestly. I felt exactly like this last year and this community helped me a lot.",
        "You're not the only one. Feel free to message me if you ever want to talk.",
    ],
    "tangible": [
        "One thing that helped me: {strategy}. Start small and be patient with yourself.",
        "Try this for a week: {strategy}. Then see if anything shifts, even a little.",
        "A practical step: {strategy}. It sounds simple but it made a real difference for me.",
    ],
}
UNHELPFUL = [
    "Just get over it, everyone has problems.",
    "Have you tried not being sad? lol",
    "This is why I don't use reddit anymore.",
    "Everyone feels like that sometimes, it's not a big deal.",
    "Sounds like you're overthinking it. Just stop worrying.",
    "ok",
    "same",
    "You should just man up honestly.",
    "Did you hear about the game last night? Crazy ending.",
    "Nobody cares, that's life.",
]
SPAM = [
    "Check out my new app MindBoost, use code HEAL20 for 20% off your first month!",
    "Earn money from home while you heal! Click the link in my profile, limited spots.",
    "Buy our calming gummies today, free shipping on all orders this week.",
]
BOT_BODIES = [
    ("AutoModerator", "Thank you for posting. If you are in crisis, please contact a crisis line. "
     "*I am a bot, and this action was performed automatically. Please contact the moderators of this subreddit if you have any questions or concerns.*"),
    ("RemindMeBot", "I will be messaging you in 2 days to remind you of this link. ^(I am a bot.)"),
    ("helpful_resources_bot", "Here are some resources that might help you. I am a bot. Beep boop."),
]
SURVEYS = [
    ("Participants needed for a study on mental health (10 min survey)",
     "Hi everyone, I'm a psychology student recruiting participants for my dissertation survey. "
     "It takes about 10 minutes and is completely anonymous. Please fill out the questionnaire at the link!"),
    ("[Academic] Survey about anxiety and social media",
     "We are conducting research on anxiety and social media use. Participants must be 18+. Take our survey!"),
]

OP_POSITIVE = [
    "Thank you so much, this really helps. I'll try {echo} tomorrow.",
    "Thanks, that means a lot. I hadn't thought about it like that.",
    "I really appreciate this. It's good to know I'm not the only one.",
    "Thank you, I feel a little lighter reading this. I'll give it a go.",
    "This helped more than you know, thank you.",
]
OP_NEGATIVE = [
    "I've already tried that and it didn't work.",
    "That's not really helpful, but ok.",
    "I don't think you understand what I'm going through.",
    "Wow. That is exactly why I hate posting here.",
    "That honestly made me feel worse.",
]
OP_NEUTRAL = ["ok", "Maybe.", "I'm not sure.", "Yeah I guess."]
COMMENTER_FOLLOWUPS = [
    "Glad it helped. Keep us posted on how it goes!",
    "Anytime. Be gentle with yourself.",
    "Sorry, I didn't mean it like that.",
    "Fair enough, I hope something works out for you.",
]
OP_DEEP_POSITIVE = ["Will do, thanks again!", "Thank you, I really needed this today."]
OP_DEEP_NEGATIVE = ["Whatever.", "It's fine, I'm used to it."]
EDIT_POSITIVE = [
    "EDIT: Thank you all so much for the kind words and advice, I read every comment and I feel less alone.",
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

# Probability that a comment of each kind is effective (the hidden truth the labelers estimate).
P_EFFECTIVE = {
    "informational": 0.75, "emotional": 0.65, "esteem": 0.6, "network": 0.6, "tangible": 0.8,
    "unhelpful": 0.08,
}
B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class DemoOutput:
    submissions: list[dict]
    comments: list[dict]
    truth: list[dict]
    """One row per comment: comment_id, post_id, kind, dimensions, effective (hidden)."""


def _b36(n: int, width: int) -> str:
    out = ""
    for _ in range(width):
        n, r = divmod(n, 36)
        out = B36[r] + out
    return out


def _author(rng: random.Random) -> str:
    return "user_" + hashlib.sha1(str(rng.random()).encode()).hexdigest()[:10]


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

    for _ in range(cfg.n_threads):
        sub = rng.choice(cfg.subreddits)
        topic_name = rng.choice(sorted(TOPICS))
        topic = TOPICS[topic_name]
        feeling, event = rng.choice(topic["feeling"]), rng.choice(topic["event"])
        pid = _b36(next(id_counter) * 104729 % 36**6, 6)
        created = cfg.start_utc + rng.randrange(span)
        op = _author(rng)
        is_survey = rng.random() < 0.04
        if is_survey:
            title, body = rng.choice(SURVEYS)
        else:
            title = rng.choice(TITLES).format(feeling=feeling, event=event)
            body = rng.choice(POST_TEMPLATES).format(
                feeling=feeling, event=event, detail=rng.choice(topic["detail"]), ask=rng.choice(ASKS)
            )
        post = {
            "id": pid, "name": f"t3_{pid}", "author": op, "title": title, "selftext": body,
            "subreddit": sub, "subreddit_id": "t5_" + hashlib.sha1(sub.encode()).hexdigest()[:5],
            "created_utc": created, "score": rng.randint(1, 40), "edited": False, "is_self": True,
            "over_18": False, "stickied": False, "num_comments": 0, "link_flair_text": topic_name,
            "permalink": f"/r/{sub}/comments/{pid}/", "url": f"https://www.reddit.com/r/{sub}/comments/{pid}/",
        }
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
            if kind_roll < 0.06:
                bot, text = rng.choice(BOT_BODIES)
                c = comment(post, post["name"], bot, text, t, 1)
                truth.append(dict(comment_id=c["id"], post_id=pid, kind="bot", dimensions=[], effective=None))
                continue
            if kind_roll < 0.09:
                c = comment(post, post["name"], author, rng.choice(SPAM), t, rng.randint(-5, 1))
                truth.append(dict(comment_id=c["id"], post_id=pid, kind="spam", dimensions=[], effective=None))
                continue
            if kind_roll < 0.30:
                kind, dims, text = "unhelpful", [], rng.choice(UNHELPFUL)
            else:
                dims = sorted(rng.sample(DIMENSIONS, k=1 if rng.random() < 0.6 else 2))
                other = rng.choice(TOPICS[rng.choice(sorted(TOPICS))]["event"])
                parts = [
                    rng.choice(SUPPORT_TEMPLATES[d]).format(
                        resource=rng.choice(topic["resource"]), strategy=rng.choice(topic["strategy"]),
                        event_other=other,
                    )
                    for d in dims
                ]
                kind, text = "support", " ".join(parts)
            p = max(P_EFFECTIVE[d] for d in dims) if dims else P_EFFECTIVE["unhelpful"]
            if len(dims) == 2:
                p = min(0.95, p + 0.1)
            effective = rng.random() < p
            effective_count += effective
            score = max(-8, int(rng.gauss(5.5, 2.5)) if effective else int(rng.gauss(0.5, 2.0)))
            deleted = rng.random() < 0.04
            c = comment(
                post, post["name"], "[deleted]" if deleted else author,
                rng.choice(["[deleted]", "[removed]"]) if deleted else text, t, score,
            )
            truth.append(dict(comment_id=c["id"], post_id=pid, kind=kind, dimensions=dims, effective=effective))
            if deleted:
                continue
            # The OP answers most comments; the tone follows the hidden effectiveness, noisily.
            if rng.random() < 0.75:
                noise = rng.random()
                if effective:
                    reply = rng.choice(OP_POSITIVE if noise < 0.85 else OP_NEUTRAL)
                else:
                    reply = rng.choice(OP_NEGATIVE if noise < 0.7 else OP_NEUTRAL if noise < 0.9 else OP_POSITIVE)
                echo = "that"
                if "{echo}" in reply:
                    echo = rng.choice(topic["strategy"]).split(",")[0]
                t2 = t + rng.randint(300, 36000)
                r1 = comment(post, c["name"], post["author"], reply.format(echo=echo), t2, rng.randint(1, 4))
                if rng.random() < 0.3:
                    t3 = t2 + rng.randint(120, 7200)
                    r2 = comment(post, r1["name"], author, rng.choice(COMMENTER_FOLLOWUPS), t3, rng.randint(1, 3))
                    if rng.random() < 0.5:
                        deep = OP_DEEP_POSITIVE if effective else OP_DEEP_NEGATIVE
                        comment(post, r2["name"], post["author"], rng.choice(deep), t3 + rng.randint(60, 3600), 1)

        # Post-level general feedback follows how well the thread went overall.
        went_well = effective_count >= max(1, n_comments // 3)
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
