"""LLM judges: label each comment through any OpenAI-compatible endpoint, reproducibly.

Every request is keyed by a hash of what is sent (model, messages, sampling settings). Its outcome
goes to the judge's **response ledger** (``ledgers/<name>.jsonl``: key -> answer, model, system
fingerprint, usage, time), a DVC output kept between runs (``persist``). A re-run, or a reviewer
who pulled the ledger, finds every answer there and sends nothing; deleting one entry makes exactly
one request. Entries are appended as answers arrive, so a killed run resumes from the ledger.

Requests run concurrently (asyncio, a semaphore of ``concurrency``) and are retried with
exponential back-off and full jitter on 429, 5xx, timeouts, connection errors and answers that do
not parse as the expected JSON. An answer still unparseable after the retries is recorded and
becomes an abstention; a request that still fails in transport is not recorded (a re-run retries
it) and abstains in this run. Every comment ends labeled or counted as abstained, exactly once.
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
@dataclass
class RunStats:
    requests: int = 0
    """HTTP requests sent (retries included)."""
    counts: Counter = field(default_factory=Counter)
    """Outcomes: cached, answered, unparseable, failed; and retries by cause."""


def make_client(cfg: JudgeConfig):
    import openai

    return openai.AsyncOpenAI(api_key=os.environ[cfg.api_key_env], base_url=cfg.base_url, max_retries=0,
                              timeout=cfg.timeout_seconds)


async def _ask(client, cfg: JudgeConfig, key: str, body: dict, sem: asyncio.Semaphore, rng: random.Random,
               stats: RunStats) -> dict | None:
    """One ledger entry for ``body`` (answered or unparseable), or None if transport kept failing."""
    import openai

    last_text = None
    for attempt in range(cfg.max_retries + 1):
        cause = None
        async with sem:
            stats.requests += 1
            try:
                resp = await client.chat.completions.create(**body)
            except openai.RateLimitError:
                cause = "retry_429"
            except openai.APITimeoutError:
                cause = "retry_timeout"
            except openai.APIConnectionError:
                cause = "retry_connection"
            except openai.APIStatusError as exc:
                if exc.status_code < 500:
                    raise
                cause = "retry_5xx"
        if cause is None:
            last_text = resp.choices[0].message.content if resp.choices else None
            try:
                answer = parse_answer(last_text)
            except AnswerError:
                cause = "retry_unparseable"
            else:
                usage = resp.usage.model_dump() if resp.usage else None
                return {"key": key, "status": "answered", "answer": answer, "raw": last_text, "model": resp.model,
                        "system_fingerprint": resp.system_fingerprint, "usage": usage, "time": int(time.time())}
        stats.counts[cause] += 1
        if attempt < cfg.max_retries:
            await asyncio.sleep(rng.uniform(0, cfg.backoff_seconds * 2**attempt))
    if last_text is not None:  # the server answered, but never in the asked-for shape
        return {"key": key, "status": "unparseable", "answer": None, "raw": last_text, "model": cfg.model,
                "system_fingerprint": None, "usage": None, "time": int(time.time())}
    return None


async def _run(cfg: JudgeConfig, pending: dict[str, dict], ledger_path: Path, entries: dict[str, dict],
               stats: RunStats, seed: int) -> None:
    client = make_client(cfg)
    sem = asyncio.Semaphore(cfg.concurrency)
    rng = random.Random(seed)
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    with open(ledger_path, "a", encoding="utf-8") as journal, tqdm(total=len(pending), desc=f"judge {cfg.name}",
                                                                   unit="req") as bar:
        async def one(key: str, body: dict) -> None:
            entry = await _ask(client, cfg, key, body, sem, rng, stats)
            if entry is None:
                stats.counts["failed"] += 1
            else:
                entries[key] = entry
                stats.counts[entry["status"]] += 1
                journal.write(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
                journal.flush()
            bar.update(1)

        await asyncio.gather(*(one(k, b) for k, b in sorted(pending.items())))
    await client.close()


def estimate_cost(cfg: JudgeConfig, pending: dict[str, dict]) -> tuple[int, float]:
    """(approximate prompt tokens, cost) of the pending requests: ~4 characters a token, and half
    the completion budget per answer."""
    prompt_tokens = sum(len(m["content"]) for b in pending.values() for m in b["messages"]) // 4
    completion_tokens = len(pending) * cfg.max_tokens // 2
    cost = prompt_tokens / 1e6 * cfg.input_cost_per_mtok + completion_tokens / 1e6 * cfg.output_cost_per_mtok
    return prompt_tokens, cost


def judge_all(cfg: JudgeConfig, bodies: dict[str, dict], ledger_path: Path, seed: int) -> tuple[dict[str, dict], RunStats]:
    """Answer every request in ``bodies`` (key -> body) from the ledger or the endpoint."""
    entries = read_ledger(ledger_path)
    stats = RunStats()
    pending = {k: b for k, b in bodies.items() if k not in entries}
    stats.counts["cached"] = len(bodies) - len(pending)
    tokens, cost = estimate_cost(cfg, pending)
    log.info("judge %s (%s): %d requests, %d in the ledger, %d to send: ~%d prompt tokens, estimated cost %.2f",
             cfg.name, cfg.model, len(bodies), stats.counts["cached"], len(pending), tokens, cost)
    if pending:
        if not os.environ.get(cfg.api_key_env):
            raise InputError(f"judge {cfg.name!r}: {len(pending)} requests are not in {ledger_path} and "
                             f"{cfg.api_key_env} is not set (set it, or dvc pull the ledger)")
        import openai

        try:
            asyncio.run(_run(cfg, pending, ledger_path, entries, stats, seed))
        except openai.APIStatusError as exc:  # 4xx: a wrong key, model or URL; retrying cannot help
            raise InputError(f"judge {cfg.name!r}: HTTP {exc.status_code} from {cfg.base_url or 'the OpenAI API'} "
                             f"for model {cfg.model!r}: {exc.message}") from None
    write_ledger(ledger_path, entries)
    return entries, stats
