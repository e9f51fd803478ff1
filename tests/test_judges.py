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
from redditess.judges import AnswerError, JudgeUnavailable, judge_all, metered_cost, parse_answer, read_ledger, render, request_body, request_key
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


# --------------------------------------------------------------------------- failing loudly, backing off
def _closed_port_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _ledger_lines(path):
    return path.read_text().splitlines() if path.exists() else []


def test_a_server_that_is_down_fails_the_run_and_records_nothing(tmp_path):
    cfg = _cfg(_closed_port_url(), max_retries=2)
    ledger = tmp_path / "ledger.jsonl"
    start = time.monotonic()
    with pytest.raises(JudgeUnavailable) as err:
        judge_all(cfg, _bodies(cfg, 200), ledger, seed=0)
    assert time.monotonic() - start < 10  # it stops once failing is certain, not after 200 x 3 attempts
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("judge 'fake': 200 of 200 requests got no answer from http://127.0.0.1:")
    assert "connection" in msg and "max_failed_share=0.01" in msg
    assert _ledger_lines(ledger) == []


def test_a_hanging_server_fails_the_run_within_the_timeouts(tmp_path):
    with FakeOpenAI(ptimeout=1.0, stall=3.0) as server:
        cfg = _cfg(server.url, max_retries=1, timeout_seconds=0.3, concurrency=4)
        start = time.monotonic()
        with pytest.raises(JudgeUnavailable, match=r"failed attempts: timeout \d+"):
            judge_all(cfg, _bodies(cfg, 40), tmp_path / "l.jsonl", seed=0)
        assert time.monotonic() - start < 5
    assert _ledger_lines(tmp_path / "l.jsonl") == []


def test_a_server_dying_mid_run_fails_and_the_rerun_asks_only_for_the_rest(tmp_path):
    import threading

    ledger = tmp_path / "ledger.jsonl"
    with FakeOpenAI(delay=0.01) as server:
        cfg = _cfg(server.url, concurrency=2, max_retries=2)
        bodies = _bodies(cfg, 80)

        def kill():
            while server.requests < 25:
                time.sleep(0.002)
            server.down = True

        threading.Thread(target=kill, daemon=True).start()
        with pytest.raises(JudgeUnavailable):
            judge_all(cfg, bodies, ledger, seed=0)
        kept = read_ledger(ledger)
        assert 20 <= len(kept) < 80 and {e["status"] for e in kept.values()} == {"answered"}
        server.down = False
        before = server.requests
        entries, stats = judge_all(cfg, bodies, ledger, seed=0)
        assert server.requests - before == 80 - len(kept) and len(entries) == 80 and stats.counts["cached"] == len(kept)


def test_failures_within_the_allowed_share_abstain_without_failing(tmp_path):
    with FakeOpenAI(poison="(#3)") as server:
        cfg = _cfg(server.url, max_retries=2, concurrency=1, max_failed_share=0.05)
        entries, stats = judge_all(cfg, _bodies(cfg, 20), tmp_path / "l.jsonl", seed=0)
    assert stats.counts["failed"] == 1 and len(entries) == 19 and len(_ledger_lines(tmp_path / "l.jsonl")) == 19


@pytest.mark.parametrize("script, recorded", [(["malformed", "500"], None), (["500", "malformed"], "unparseable")])
def test_only_the_last_try_decides_what_is_recorded(tmp_path, script, recorded):
    with FakeOpenAI(script=script) as server:
        cfg = _cfg(server.url, max_retries=1, concurrency=1, max_failed_share=1.0)
        entries, stats = judge_all(cfg, _bodies(cfg, 1), tmp_path / "l.jsonl", seed=0)
    assert [e["status"] for e in entries.values()] == ([recorded] if recorded else [])
    assert len(_ledger_lines(tmp_path / "l.jsonl")) == (1 if recorded else 0)
    assert stats.counts["failed"] == (0 if recorded else 1)


def test_a_retry_overtakes_the_first_attempts_still_queued(tmp_path):
    with FakeOpenAI(script=["500"], delay=0.05) as server:
        cfg = _cfg(server.url, concurrency=1, backoff_seconds=0.01)
        judge_all(cfg, _bodies(cfg, 8), tmp_path / "l.jsonl", seed=0)
    order = [prompt for _, prompt, _ in server.arrivals]
    assert len(order) == 9
    # the failed first request is retried as soon as its back-off ends (third request), not after the 7 others
    assert order[2] == order[0] and len(set(order)) == 8


def test_aimd_cuts_the_requests_in_flight_under_a_429_storm(tmp_path):
    in_flight = {}
    for p429 in (0.0, 0.5):
        # 0.1 s per answer: long beside a loaded 2-core client's own per-request work, so with no 429
        # all 16 workers are in flight at once (at 0.03 s a busy CI machine saw only 12)
        with FakeOpenAI(seed=5, p429=p429, delay=0.1) as server:
            cfg = _cfg(server.url, concurrency=16, max_retries=30, backoff_seconds=0.005)
            entries, stats = judge_all(cfg, _bodies(cfg, 96), tmp_path / f"l{p429}.jsonl", seed=0)
        assert len(entries) == 96
        # the most requests in flight at once over the second half of the run (AIMD has settled by then)
        in_flight[p429] = max(n for _, _, n in server.arrivals[len(server.arrivals) // 2:])
        if p429:
            assert stats.counts["retry_429"] > 20 and stats.window_min <= 2
    assert in_flight[0.0] >= 14 and in_flight[0.5] <= 6, in_flight


def test_retry_after_is_honoured(tmp_path):
    with FakeOpenAI(script=["429"], retry_after=0.4) as server:
        cfg = _cfg(server.url, concurrency=1, backoff_seconds=0.001)
        judge_all(cfg, _bodies(cfg, 2), tmp_path / "l.jsonl", seed=0)
    times = [t for t, _, _ in server.arrivals]
    assert len(times) == 3 and times[1] - times[0] >= 0.4


def test_the_cost_estimate_is_within_20_percent_of_the_metered_cost(tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    prices = dict(input_cost_per_mtok=2.5, output_cost_per_mtok=10.0, retry_allowance=0.1)
    with FakeOpenAI(seed=2, pmalformed=0.05) as server:
        cfg = _cfg(server.url, **prices)
        bodies = _bodies(cfg, 150)
        first = dict(list(bodies.items())[:30])
        _, cold = judge_all(cfg, first, ledger, seed=0)  # the configured lengths: no ledger yet
        _, warm = judge_all(cfg, bodies, ledger, seed=0)  # lengths measured on the 30 answers
    # before any answer is metered, the configured lengths are all there is (and they are not the server's)
    assert cold.estimate["measured_from"] == 0 and cold.estimate["completion_tokens"] == 30 * cfg.expected_completion_tokens
    assert warm.estimate["measured_from"] == 30  # then the lengths are measured on the 30 answers in the ledger
    metered = metered_cost(cfg, warm)
    estimate = warm.estimate["cost"] + warm.estimate["retry_allowance"]
    assert warm.counts["retry_unparseable"] > 0 and metered > 0
    assert abs(estimate - metered) / metered < 0.2, (warm.estimate, metered)


@pytest.mark.slow
def test_dvc_repro_after_failed_judge_runs_asks_only_for_the_missing_answers(tmp_path, monkeypatch):
    """Down, then dying mid-run: `dvc repro` fails with one line and records nothing as done; once the
    server answers, a plain `dvc repro` sends exactly the requests the ledger lacks."""
    import threading

    from test_pipeline import init_repo, sh

    from conftest import stage_env

    monkeypatch.setenv("FAKE_JUDGE_KEY", "sk-test")
    with FakeOpenAI(down=True, delay=0.01) as server:
        judge = {"name": "alpha", "model": "fake-judge", "base_url": server.url, "api_key_env": "FAKE_JUDGE_KEY",
                 "timeout_seconds": 2.0, "backoff_seconds": 0.01, "max_retries": 1, "concurrency": 2}
        repo = init_repo(tmp_path / "r", {"collect": {"demo": {"n_threads": 40}}, "label": {"judges": [judge]}})
        ledger = repo / "ledgers/alpha.jsonl"

        def repro_fails():
            proc = subprocess.run(["dvc", "repro", "judge@0"], cwd=repo, env=stage_env(repo), capture_output=True, text=True)
            assert proc.returncode != 0
            errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
            assert len(errors) == 1 and "requests got no answer from http://127.0.0.1" in errors[0], proc.stderr[-3000:]
            assert not (repo / "data/votes/llm_alpha.parquet").exists() and not (repo / "metrics/judge_alpha.json").exists()
            assert "judge@0" not in ((repo / "dvc.lock").read_text() if (repo / "dvc.lock").exists() else "")

        repro_fails()  # down from the start
        assert _ledger_lines(ledger) == [] and server.requests == 0

        server.down = False

        def kill():
            while server.requests < 15:
                time.sleep(0.002)
            server.down = True

        threading.Thread(target=kill, daemon=True).start()
        repro_fails()  # dies mid-run
        kept = len(read_ledger(ledger))
        assert kept >= 10

        server.down = False
        before = server.requests
        sh(repo, "dvc", "repro", "judge@0")
        n = len(read_ledger(ledger))  # distinct requests (two comments may read alike)
        assert server.requests - before == n - kept
        assert pd.read_parquet(repo / "data/votes/llm_alpha.parquet").label.notna().all()
        assert json.loads((repo / "metrics/judge_alpha.json").read_text())["from_ledger"] == kept
