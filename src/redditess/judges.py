"""LLM judges: label each comment through any OpenAI-compatible endpoint, reproducibly.

Every request is keyed by a hash of what is sent (model, messages, sampling settings). Its outcome
goes to the judge's **response ledger** (``ledgers/<name>.jsonl``: key -> answer, model, system
fingerprint, usage, time), a DVC output kept between runs (``persist``). A re-run, or a reviewer
who pulled the ledger, finds every answer there and sends nothing; deleting one entry makes exactly
one request. Entries are appended as answers arrive, so a killed run resumes from the ledger.

Requests run through a priority queue (a retry goes ahead of every first attempt) and
``concurrency`` workers under an AIMD window: a 429 halves the requests in flight and pauses for
the server's Retry-After, each answer grows the window back. Failures are retried with exponential
back-off and full jitter on 429, 5xx, timeouts, connection errors and answers that do not parse as
the expected JSON. Only answers are persisted: a valid one, or one still unparseable after the
retries (an abstention). A request whose last try failed in transport is never recorded, so a
re-run asks again; when such requests exceed ``max_failed_share`` of the comments the run fails
(:class:`JudgeUnavailable`) instead of passing them off as abstentions. Before any request the cost
is estimated from metered usage in the ledger (or configured lengths), and the metered cost is
counted from every response.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from redditess.config import JudgeConfig
from redditess.runtime import InputError
from redditess.support import DIMENSIONS

log = logging.getLogger(__name__)
SYSTEM = "You are a careful annotator. Reply with a single JSON object only."


class AnswerError(ValueError):
    """The model's answer is not the JSON object the prompt asks for."""


def render(template: str, post_title: str, post_body: str, comment_body: str) -> str:
    # str.replace, not str.format: the template itself shows JSON braces.
    return (template.replace("{post_title}", post_title).replace("{post_body}", post_body)
            .replace("{comment_body}", comment_body))


def request_body(cfg: JudgeConfig, prompt: str) -> dict:
    return {
        "model": cfg.model,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
        "temperature": cfg.temperature,
        "max_tokens": cfg.max_tokens,
        "response_format": {"type": "json_object"},
    }


def request_key(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def parse_answer(text: str | None) -> dict:
    """Validate ``{"effective": bool, "rationale": str, "dimensions": [..]}``; tolerate code fences."""
    if not text:
        raise AnswerError("empty answer")
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`").removeprefix("json").strip()
    try:
        obj = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise AnswerError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("effective"), bool):
        raise AnswerError("'effective' must be true or false")
    dims = obj.get("dimensions", [])
    if not isinstance(dims, list) or not all(isinstance(d, str) for d in dims):
        raise AnswerError("'dimensions' must be a list of names")
    dims = sorted({d.strip().lower() for d in dims})
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown:
        raise AnswerError(f"unknown dimensions {unknown}")
    return {"effective": obj["effective"], "rationale": str(obj.get("rationale", ""))[:500], "dimensions": dims}


# --------------------------------------------------------------------------- ledger
def read_ledger(path: Path) -> dict[str, dict]:
    """Entries by key; a line cut short by a kill is ignored (that request is made again)."""
    from redditess.io import read_journal

    return {entry["key"]: entry for entry in read_journal(path)}


def write_ledger(path: Path, entries: dict[str, dict]) -> None:
    """Rewrite the ledger sorted by key (atomically), so its bytes depend only on its content."""
    from redditess.io import write_jsonl

    write_jsonl(path, (entries[k] for k in sorted(entries)))


# --------------------------------------------------------------------------- calling
class JudgeUnavailable(InputError):
    """Too many comments ended without an answer for transport reasons (the endpoint is down,
    hangs, or keeps refusing): the stage must fail rather than record them as abstentions."""


@dataclass
class RunStats:
    requests: int = 0
    """HTTP requests sent (retries included)."""
    counts: Counter = field(default_factory=Counter)
    """Outcomes: cached, answered, unparseable, failed; and retries by cause."""
    prompt_tokens: int = 0
    """Prompt tokens the endpoint metered over every response it gave (retried ones included)."""
    completion_tokens: int = 0
    """Completion tokens the endpoint metered over every response it gave."""
    window_min: float = 0.0
    """Smallest concurrency window the AIMD controller went down to."""
    estimate: dict = field(default_factory=dict)
    """The cost estimate made before the first request (see :func:`estimate_cost`)."""


def make_client(cfg: JudgeConfig):
    import openai

    return openai.AsyncOpenAI(api_key=os.environ[cfg.api_key_env], base_url=cfg.base_url, max_retries=0,
                              timeout=cfg.timeout_seconds)


# Retry-After is honoured, but a server asking for more than this is treated as asking for this
# much: the per-request retries and max_failed_share bound the run, not the server's wish.
MAX_RETRY_AFTER = 300.0


def retry_after(exc) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``retry-after``), if any."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return min(MAX_RETRY_AFTER, max(0.0, float(value) * scale))
            except ValueError:
                return None  # an HTTP date: fall back to the back-off
    return None


class Aimd:
    """Requests in flight under an additive-increase / multiplicative-decrease window, TCP style:
    a 429 halves the window (once per round trip: 429s of requests sent before the last cut do not
    cut again) and pauses new requests for the server's Retry-After; each answer grows the window
    by 1/window, i.e. about one request per round trip, back up to ``ceiling``."""

    def __init__(self, ceiling: int):
        self.ceiling = ceiling
        self.window = float(ceiling)
        self.window_min = float(ceiling)
        self.in_flight = 0
        self.paused_until = 0.0
        self.last_cut = float("-inf")
        self.cond = asyncio.Condition()

    async def acquire(self) -> float:
        loop = asyncio.get_running_loop()
        async with self.cond:
            while True:
                wait = self.paused_until - loop.time()
                if wait > 0:
                    try:
                        await asyncio.wait_for(self.cond.wait(), wait)
                    except asyncio.TimeoutError:
                        pass
                elif self.in_flight < max(1, int(self.window)):
                    break
                else:
                    await self.cond.wait()
            self.in_flight += 1
            return loop.time()

    async def release(self, started: float, throttled: bool, pause: float | None) -> None:
        now = asyncio.get_running_loop().time()
        async with self.cond:
            self.in_flight -= 1
            if throttled:
                if started >= self.last_cut:
                    self.window = max(1.0, self.window / 2)
                    self.window_min = min(self.window_min, self.window)
                    self.last_cut = now
                if pause:
                    self.paused_until = max(self.paused_until, now + pause)
            else:
                self.window = min(float(self.ceiling), self.window + 1.0 / self.window)
            self.cond.notify_all()


@dataclass(order=True)
class _Job:
    priority: int
    """0 for a retry, 1 for a first attempt: a retry overtakes every first attempt still queued."""
    seq: int
    key: str = field(compare=False)
    body: dict = field(compare=False)
    attempt: int = field(compare=False, default=0)


async def _send(client, body: dict):
    """(response, None) or (None, (cause, retry-after seconds)); a 4xx other than 429 raises."""
    import openai
    from openai.types.chat import ChatCompletion

    try:
        # The body goes out exactly as built and hashed into the ledger key (chat.completions.create
        # would re-transform it, which also costs a third of the client's CPU per request).
        return await client.post("/chat/completions", body=body, cast_to=ChatCompletion), None
    except openai.RateLimitError as exc:
        return None, ("retry_429", retry_after(exc))
    except openai.APITimeoutError:
        return None, ("retry_timeout", None)
    except openai.APIConnectionError:
        return None, ("retry_connection", None)
    except openai.APIStatusError as exc:
        if exc.status_code < 500:
            raise
        return None, ("retry_5xx", retry_after(exc))


def _entry(cfg: JudgeConfig, key: str, resp, text: str | None, answer: dict | None) -> dict:
    usage = resp.usage.model_dump() if resp.usage else None
    return {"key": key, "status": "answered" if answer is not None else "unparseable", "answer": answer, "raw": text,
            "model": resp.model or cfg.model, "system_fingerprint": resp.system_fingerprint, "usage": usage,
            "time": int(time.time())}


async def _run(cfg: JudgeConfig, pending: dict[str, dict], ledger_path: Path, entries: dict[str, dict],
               stats: RunStats, seed: int, allowed_failures: int) -> None:
    """Send ``pending`` through a priority queue (retries first) and ``cfg.concurrency`` workers
    under an AIMD window; persist each answer as it arrives. Stops early once more requests have
    failed in transport than ``allowed_failures`` (the stage is going to fail anyway)."""
    loop = asyncio.get_running_loop()
    client = make_client(cfg)
    aimd = Aimd(cfg.concurrency)
    queue: asyncio.PriorityQueue[_Job] = asyncio.PriorityQueue()
    rng = random.Random(seed)
    for seq, key in enumerate(sorted(pending)):
        queue.put_nowait(_Job(1, seq, key, pending[key]))
    remaining = len(pending)
    done = asyncio.Event()
    timers: list[asyncio.TimerHandle] = []
    fatal: list[BaseException] = []
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    with open(ledger_path, "a", encoding="utf-8") as journal, tqdm(total=len(pending), desc=f"judge {cfg.name}",
                                                                   unit="req") as bar:
        def finish(entry: dict | None) -> None:
            nonlocal remaining
            if entry is None:
                stats.counts["failed"] += 1
                if stats.counts["failed"] > allowed_failures:
                    done.set()
            else:
                entries[entry["key"]] = entry
                stats.counts[entry["status"]] += 1
                journal.write(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
                journal.flush()
            remaining -= 1
            bar.update(1)
            if remaining == 0:
                done.set()

        def again(job: _Job, pause: float | None) -> None:
            delay = rng.uniform(0, cfg.backoff_seconds * 2**job.attempt)
            retry = _Job(0, job.seq, job.key, job.body, job.attempt + 1)
            timers.append(loop.call_later(max(delay, pause or 0.0), queue.put_nowait, retry))

        async def worker() -> None:
            while True:
                started = await aimd.acquire()
                job = await queue.get()
                stats.requests += 1
                try:
                    resp, failure = await _send(client, job.body)
                except BaseException:
                    await aimd.release(started, False, None)
                    raise
                await aimd.release(started, failure is not None and failure[0] == "retry_429",
                                   failure[1] if failure else None)
                if failure is None:
                    if resp.usage:
                        stats.prompt_tokens += resp.usage.prompt_tokens or 0
                        stats.completion_tokens += resp.usage.completion_tokens or 0
                    text = resp.choices[0].message.content if resp.choices else None
                    try:
                        answer = parse_answer(text)
                    except AnswerError:
                        stats.counts["retry_unparseable"] += 1
                        if job.attempt < cfg.max_retries:
                            again(job, None)
                        else:  # the server answered, but never in the asked-for shape: that is an answer
                            finish(_entry(cfg, job.key, resp, text, None))
                    else:
                        finish(_entry(cfg, job.key, resp, text, answer))
                else:
                    stats.counts[failure[0]] += 1
                    if job.attempt < cfg.max_retries:
                        again(job, failure[1])
                    else:  # never persisted: a later run asks again
                        finish(None)

        async def guarded() -> None:
            try:
                await worker()
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # a 4xx: no point in going on
                fatal.append(exc)
                done.set()

        workers = [asyncio.create_task(guarded()) for _ in range(cfg.concurrency)]
        try:
            await done.wait()
        finally:
            for t in timers:
                t.cancel()
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            stats.counts["unsent"] = remaining if remaining and not fatal else 0
            stats.window_min = aimd.window_min
            await client.close()
    if fatal:
        raise fatal[0]


def _chars(body: dict) -> int:
    return sum(len(m["content"]) for m in body["messages"])


def estimate_cost(cfg: JudgeConfig, pending: dict[str, dict], measured: list[tuple[dict, dict]]) -> dict:
    """Tokens and cost of the pending requests, before any is sent. Prompt tokens: the characters
    sent divided by the characters per token; completion tokens: the mean completion length. Both
    are measured from the endpoint's metered usage of the answers already in the ledger
    (``measured``: (body, usage) pairs) when there are any, else taken from the configuration.
    The retry allowance is ``cfg.retry_allowance`` of the estimate (retried answers are billed)."""
    usable = [(b, u) for b, u in measured if u and u.get("prompt_tokens")]
    if usable:
        chars_per_token = sum(_chars(b) for b, _ in usable) / sum(u["prompt_tokens"] for _, u in usable)
        completion = sum(u.get("completion_tokens") or 0 for _, u in usable) / len(usable)
    else:
        chars_per_token, completion = cfg.chars_per_token, float(cfg.expected_completion_tokens)
    prompt_tokens = sum(_chars(b) for b in pending.values()) / chars_per_token
    completion_tokens = len(pending) * completion
    cost = prompt_tokens / 1e6 * cfg.input_cost_per_mtok + completion_tokens / 1e6 * cfg.output_cost_per_mtok
    return {"prompt_tokens": round(prompt_tokens), "completion_tokens": round(completion_tokens),
            "completion_tokens_per_answer": completion, "chars_per_token": chars_per_token,
            "measured_from": len(usable), "cost": cost, "retry_allowance": cost * cfg.retry_allowance}


def metered_cost(cfg: JudgeConfig, stats: RunStats) -> float:
    return stats.prompt_tokens / 1e6 * cfg.input_cost_per_mtok + stats.completion_tokens / 1e6 * cfg.output_cost_per_mtok


def judge_all(cfg: JudgeConfig, bodies: dict[str, dict], ledger_path: Path, seed: int) -> tuple[dict[str, dict], RunStats]:
    """Answer every request in ``bodies`` (key -> body) from the ledger or the endpoint.

    Raises :class:`JudgeUnavailable` (after saving every answer received to the ledger) when more
    than ``cfg.max_failed_share`` of ``bodies`` ended without an answer for transport reasons."""
    entries = read_ledger(ledger_path)
    stats = RunStats(window_min=float(cfg.concurrency))
    pending = {k: b for k, b in bodies.items() if k not in entries}
    stats.counts["cached"] = len(bodies) - len(pending)
    est = estimate_cost(cfg, pending, [(bodies[k], entries[k].get("usage")) for k in sorted(set(bodies) & set(entries))])
    stats.estimate = est
    basis = f"measured on {est['measured_from']} ledger answers" if est["measured_from"] else "configured"
    log.info("judge %s (%s): %d requests, %d in the ledger, %d to send: ~%d prompt + ~%d completion tokens "
             "(%.0f per answer, %s), estimated cost %s %.2f plus up to %s %.2f for retries",
             cfg.name, cfg.model, len(bodies), stats.counts["cached"], len(pending), est["prompt_tokens"],
             est["completion_tokens"], est["completion_tokens_per_answer"], basis, cfg.currency, est["cost"],
             cfg.currency, est["retry_allowance"])
    if pending:
        if not os.environ.get(cfg.api_key_env):
            raise InputError(f"judge {cfg.name!r}: {len(pending)} requests are not in {ledger_path} and "
                             f"{cfg.api_key_env} is not set (set it, or dvc pull the ledger)")
        import openai

        allowed = int(cfg.max_failed_share * len(bodies))
        try:
            asyncio.run(_run(cfg, pending, ledger_path, entries, stats, seed, allowed))
        except openai.APIStatusError as exc:  # 4xx: a wrong key, model or URL; retrying cannot help
            write_ledger(ledger_path, entries)
            raise InputError(f"judge {cfg.name!r}: HTTP {exc.status_code} from {cfg.base_url or 'the OpenAI API'} "
                             f"for model {cfg.model!r}: {exc.message}") from None
        log.info("judge %s: metered cost %s %.4f (%d prompt + %d completion tokens), estimate was %s %.4f + %.4f",
                 cfg.name, cfg.currency, metered_cost(cfg, stats), stats.prompt_tokens, stats.completion_tokens,
                 cfg.currency, est["cost"], est["retry_allowance"])
    write_ledger(ledger_path, entries)
    unanswered = stats.counts["failed"] + stats.counts["unsent"]
    if unanswered > cfg.max_failed_share * len(bodies):
        c = stats.counts
        causes = ", ".join(f"{k.removeprefix('retry_')} {c[k]}" for k in sorted(c) if k.startswith("retry_")
                           and k != "retry_unparseable" and c[k])
        raise JudgeUnavailable(
            f"judge {cfg.name!r}: {unanswered} of {len(bodies)} requests got no answer from "
            f"{cfg.base_url or 'the OpenAI API'} ({c['failed']} failed after {cfg.max_retries} retries, "
            f"{c['unsent']} left unsent then; failed attempts: {causes or 'none'}), more than "
            f"max_failed_share={cfg.max_failed_share:g}; the {len(entries)} answers received are in {ledger_path}, "
            f"re-run when the endpoint answers")
    return entries, stats
