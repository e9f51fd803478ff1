"""LLM judges through the real openai client against a local OpenAI-compatible server."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from redditess.config import JudgeConfig
from redditess.judges import AnswerError, judge_all, parse_answer, read_ledger, render, request_body, request_key
from redditess.runtime import InputError

from conftest import ROOT
from fake_openai import FakeOpenAI

REPLIES = ["I'm so sorry you're going through this. Try this: a short walk each morning.", "Just get over it, everyone has problems.",
           "Have you looked into therapy? It is often recommended.", "ok", "You're not alone, I went through the same thing."]


def _bodies(cfg, n):
    template = (ROOT / "prompts/judge_effective_v1.md").read_text()
    bodies = {}
    for i in range(n):
        body = request_body(cfg, render(template, f"Post {i}", "I feel low.", f"{REPLIES[i % len(REPLIES)]} (#{i})"))
        bodies[request_key(body)] = body
    return bodies


def _cfg(url, **kw):
    base = dict(name="fake", model="fake-judge", base_url=url, api_key_env="FAKE_JUDGE_KEY", concurrency=8,
                max_retries=6, backoff_seconds=0.01, timeout_seconds=0.5)
    return JudgeConfig(**{**base, **kw})


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("FAKE_JUDGE_KEY", "sk-test")


@pytest.mark.parametrize("text, ok", [
    ('{"effective": true, "rationale": "x", "dimensions": ["Emotional", "tangible"]}', True),
    ('```json\n{"effective": false, "dimensions": []}\n```', True),
    ('{"effective": "yes"}', False), ('{"effective": true, "dimensions": ["magic"]}', False), ("sure!", False), ("", False),
])
def test_answers_are_validated(text, ok):
    if ok:
        assert isinstance(parse_answer(text)["effective"], bool)
        assert parse_answer(text)["dimensions"] == sorted(parse_answer(text)["dimensions"])
    else:
        with pytest.raises(AnswerError):
            parse_answer(text)


def test_faults_end_labeled_or_abstained_and_the_ledger_makes_reruns_free(tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    with FakeOpenAI(seed=1, p429=0.10, p500=0.05, ptimeout=0.05, pmalformed=0.05, stall=1.0) as server:
        cfg = _cfg(server.url)
        bodies = _bodies(cfg, 120)
        entries, stats = judge_all(cfg, bodies, ledger, seed=0)
        assert all(server.faults[k] > 0 for k in ("429", "500", "timeout", "malformed")), server.faults
        assert set(entries) == set(bodies)  # every request ended recorded: answered or unparseable
        assert stats.counts["answered"] + stats.counts["unparseable"] == 120 and stats.counts["failed"] == 0
        assert stats.counts["retry_429"] and stats.counts["retry_timeout"] and stats.counts["retry_unparseable"]
        lines = ledger.read_text().splitlines()
        assert len(lines) == 120 and lines == sorted(lines, key=lambda s: json.loads(s)["key"])
        entry = json.loads(lines[0])
        assert {"key", "answer", "model", "system_fingerprint", "usage", "time", "status"} <= set(entry)

        before = server.requests
        _, again = judge_all(cfg, bodies, ledger, seed=0)
        assert server.requests == before and again.counts["cached"] == 120  # zero requests

        ledger.write_text("\n".join(lines[1:]) + "\n")  # forget one answer
        _, once = judge_all(_cfg(server.url, max_retries=0), bodies, ledger, seed=0)
        assert server.requests - before == 1  # exactly one request: the forgotten one


def test_no_key_and_no_ledger_is_one_line_naming_judge_and_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("FAKE_JUDGE_KEY")
    cfg = _cfg("http://127.0.0.1:9/v1")
    with pytest.raises(InputError) as err:
        judge_all(cfg, _bodies(cfg, 3), tmp_path / "none.jsonl", seed=0)
    assert str(err.value) == f"judge 'fake': 3 requests are not in {tmp_path / 'none.jsonl'} and FAKE_JUDGE_KEY is not set " \
                             "(set it, or dvc pull the ledger)"


def test_a_wrong_endpoint_is_a_clear_error(tmp_path):
    with FakeOpenAI() as server:
        cfg = _cfg(server.url.replace("/v1", "/nope"))
        with pytest.raises(InputError, match="judge 'fake': HTTP 404"):
            judge_all(cfg, _bodies(cfg, 2), tmp_path / "l.jsonl", seed=0)


def test_a_killed_judge_resumes_from_its_ledger(tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    with FakeOpenAI(delay=0.05) as server:
        cfg = _cfg(server.url, concurrency=2)
        script = (
            "import json, sys; from pathlib import Path\n"
            "from redditess.config import JudgeConfig; from redditess.judges import judge_all\n"
            f"cfg = JudgeConfig(**json.loads({json.dumps(json.dumps(cfg.__dict__))}))\n"
            f"bodies = json.loads(Path({str(tmp_path / 'bodies.json')!r}).read_text())\n"
            f"judge_all(cfg, bodies, Path({str(ledger)!r}), seed=0)\n"
        )
        bodies = _bodies(cfg, 60)
        (tmp_path / "bodies.json").write_text(json.dumps(bodies))
        child = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=str(ROOT / "src")),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while time.time() < deadline and (not ledger.exists() or len(ledger.read_text().splitlines()) < 10):
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
        done = len(read_ledger(ledger))
        assert 10 <= done < 60
        before = server.requests
        entries, stats = judge_all(cfg, bodies, ledger, seed=0)
        assert len(entries) == 60 and stats.counts["cached"] == done
        assert server.requests - before == 60 - done  # only what the ledger lacked
    assert pd.Series([e["key"] for e in entries.values()]).is_unique
