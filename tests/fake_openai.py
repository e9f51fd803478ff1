"""A small OpenAI-compatible chat-completions server on 127.0.0.1, with injectable faults.

It answers like a judge: a reply is effective unless it reads as dismissive, and its dimensions
come from keywords, so answers depend only on the request. Faults are drawn per request from a
seeded generator: 429 (with ``retry_after`` seconds in ``retry-after-ms``), 500, a stall past the
client's timeout, or a malformed (non-JSON) answer; ``script`` lists faults served first, in order
("ok" for none); a request whose prompt contains ``poison`` always gets a 500. ``down`` (settable
while running) drops every connection without an answer, as a dead server does. Usage is metered
like a word-piece tokenizer would (words and punctuation marks, plus 4 tokens per message),
independently of how the client estimates it. ``arrivals`` records, per request, its arrival time,
the prompt's last line and the requests in flight then.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler

from loopback import LoopbackServer

DISMISSIVE = ("get over it", "not sad", "man up", "nobody cares", "overthinking", "reddit anymore", "the game", "ok", "same")
KEYWORDS = {"informational": ("looked into", "recommended", "common", "worth asking"), "emotional": ("sorry", "hug", "hear you"),
            "esteem": ("valid", "stronger", "proud"), "network": ("same thing", "not alone", "not the only", "message me"),
            "tangible": ("try this", "helped me", "practical step", "start small")}


def tokens(text: str) -> int:
    return len(re.findall(r"\w+|[^\w\s]", text))


def judge(content: str) -> dict:
    reply = content.rsplit("REPLY:", 1)[-1].strip().lower()
    effective = not any(reply == d or (len(d) > 4 and d in reply) for d in DISMISSIVE) and len(reply.split()) > 3
    dims = sorted(d for d, words in KEYWORDS.items() if any(w in reply for w in words))
    return {"effective": effective, "rationale": "reads as helpful" if effective else "reads as dismissive", "dimensions": dims}


class FakeOpenAI(LoopbackServer):
    url_suffix = "/v1"

    def __init__(self, seed=0, p429=0.0, p500=0.0, ptimeout=0.0, pmalformed=0.0, stall=2.0, delay=0.0, retry_after=None,
                 script=(), down=False, poison=None):
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.requests = 0
        self.script = list(script)
        self.down = down
        self.in_flight = 0
        self.arrivals: list[tuple[float, str, int]] = []
        self.faults = {"429": 0, "500": 0, "timeout": 0, "malformed": 0}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed-ACK stall

            def log_message(self, *args):
                pass

            def _send(self, obj, status=200, headers=None):
                body = json.dumps(obj).encode()
                try:
                    self.send_response(status)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self):
                self._send({"object": "list", "data": [{"id": "fake-judge", "object": "model", "owned_by": "test"}]})

            def do_POST(self):
                req = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                if fake.down:
                    self.close_connection = True
                    return
                if self.path != "/v1/chat/completions":
                    return self._send({"error": {"message": f"no route {self.path}", "type": "not_found"}}, 404)
                with fake.lock:
                    fake.requests += 1
                    fake.in_flight += 1
                    fake.arrivals.append((time.monotonic(), req["messages"][-1]["content"].splitlines()[-1], fake.in_flight))
                    roll = fake.rng.random()
                    scripted = fake.script.pop(0) if fake.script else None
                    if poison is not None and poison in req["messages"][-1]["content"]:
                        scripted = "500"
                try:
                    self._answer(req, roll, scripted)
                finally:
                    with fake.lock:
                        fake.in_flight -= 1

            def _answer(self, req, roll, scripted):
                if delay:
                    time.sleep(delay)
                cut = 0.0
                for kind, p in (("429", p429), ("500", p500), ("timeout", ptimeout), ("malformed", pmalformed)):
                    cut += p
                    if scripted == kind or (scripted is None and roll < cut):
                        with fake.lock:
                            fake.faults[kind] += 1
                        if kind == "429":
                            extra = {} if retry_after is None else {"retry-after-ms": str(int(retry_after * 1000))}
                            return self._send({"error": {"message": "rate limited", "type": "rate_limit"}}, 429, extra)
                        if kind == "500":
                            return self._send({"error": {"message": "boom", "type": "server_error"}}, 500)
                        if kind == "timeout":
                            time.sleep(stall)
                            return self._send({"error": {"message": "late"}}, 500)
                        content = '{"effective": tru'  # malformed
                        break
                else:
                    content = json.dumps(judge(req["messages"][-1]["content"]))
                prompt = sum(tokens(m["content"]) + 4 for m in req["messages"])
                self._send({
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": req["model"],
                    "system_fingerprint": "fp_fake", "choices": [{"index": 0, "finish_reason": "stop",
                                                                   "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": prompt, "completion_tokens": tokens(content),
                              "total_tokens": prompt + tokens(content)},
                })

        self.serve(Handler)
