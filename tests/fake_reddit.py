"""A minimal Reddit API on 127.0.0.1 for testing the real praw client (read-only app flow)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


def _comment(cid, post, parent, author, body, replies=()):
    return {"kind": "t1", "data": {
        "id": cid, "name": f"t1_{cid}", "link_id": f"t3_{post}", "parent_id": parent, "author": author,
        "body": body, "subreddit": "MentalHealthSupport", "created_utc": 1700000100.0, "score": 5,
        "edited": False, "is_submitter": author == "op_user", "distinguished": None,
        "replies": {"kind": "Listing", "data": {"children": list(replies), "after": None, "before": None}} if replies else "",
    }}


def _post(pid):
    return {"kind": "t3", "data": {
        "id": pid, "name": f"t3_{pid}", "title": "Feeling low", "selftext": "I feel low.\n\nEDIT: thanks all",
        "author": "op_user", "subreddit": "MentalHealthSupport", "created_utc": 1700000000.0, "score": 7,
        "edited": 1700000500.0, "is_self": True, "num_comments": 2, "over_18": False, "stickied": False,
        "permalink": f"/r/MentalHealthSupport/comments/{pid}/", "url": f"https://reddit.example/{pid}",
    }}


class FakeReddit:
    """Serves posts p1, p2 with one comment each and an OP reply below it."""

    def __init__(self):
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, obj, status=200):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.requests.append("POST " + self.path)
                self._send({"access_token": "tok", "token_type": "bearer", "expires_in": 3600, "scope": "*"})

            def do_GET(self):
                path = urlparse(self.path).path.rstrip("/")
                fake.requests.append("GET " + path)
                if path.startswith("/r/") and path.split("/")[-1] in ("new", "hot", "top"):
                    self._send({"kind": "Listing", "data": {"children": [_post("p1"), _post("p2")], "after": None, "before": None}})
                elif path.startswith("/comments/"):
                    pid = path.split("/")[2]
                    reply = _comment(f"{pid}r", pid, f"t1_{pid}c", "op_user", "Thank you, this helps")
                    top = _comment(f"{pid}c", pid, f"t3_{pid}", "helper", "Try a short walk.", [reply])
                    self._send([{"kind": "Listing", "data": {"children": [_post(pid)], "after": None, "before": None}},
                                {"kind": "Listing", "data": {"children": [top], "after": None, "before": None}}])
                else:
                    self._send({"error": 404}, 404)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
