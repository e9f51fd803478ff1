"""A minimal Reddit API on 127.0.0.1 for testing the real praw client (read-only app flow).

Serves ``n_posts`` posts, each with one top-level comment and the OP's reply below it; ``faults``
maps a path prefix to HTTP statuses returned (once each, in order) before the real answer;
``delay`` slows every comment-tree answer; ``things`` holds what /api/info returns by fullname.
The token endpoint checks HTTP basic credentials (``credentials``) like Reddit's (401 otherwise);
``unknown`` subreddits redirect to the search (Reddit's answer for a name that does not exist),
``private`` ones answer 403. ``more`` adds to each post a MoreComments of that many further
top-level comments, served by /api/morechildren.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from loopback import LoopbackServer


def _listing(children):
    return {"kind": "Listing", "data": {"children": list(children), "after": None, "before": None}}


def comment(cid, post, parent, author, body, replies=(), edited=False):
    return {"kind": "t1", "data": {
        "id": cid, "name": f"t1_{cid}", "link_id": f"t3_{post}", "parent_id": parent, "author": author,
        "body": body, "subreddit": "MentalHealthSupport", "created_utc": 1700000100.0, "score": 5,
        "edited": edited, "is_submitter": author == "op_user", "distinguished": None,
        "replies": _listing(replies) if replies else "",
    }}


def post(pid, selftext="I feel low.\n\nEDIT: thanks all", author="op_user"):
    return {"kind": "t3", "data": {
        "id": pid, "name": f"t3_{pid}", "title": "Feeling low", "selftext": selftext,
        "author": author, "subreddit": "MentalHealthSupport", "created_utc": 1700000000.0, "score": 7,
        "edited": 1700000500.0, "is_self": True, "num_comments": 2, "over_18": False, "stickied": False,
        "permalink": f"/r/MentalHealthSupport/comments/{pid}/", "url": f"https://reddit.example/{pid}",
    }}


class FakeReddit(LoopbackServer):
    def __init__(self, n_posts=2, faults=None, delay=0.0, things=None, credentials=("id", "secret"), unknown=(),
                 private=(), more=0):
        self.requests: list[str] = []
        self.comment_fetches: Counter = Counter()
        self.faults = {k: list(v) for k, v in (faults or {}).items()}
        self.things = things or {}
        self.posts = [f"p{i}" for i in range(1, n_posts + 1)]
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, obj, status=200):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("x-ratelimit-remaining", "590")
                self.send_header("x-ratelimit-used", "10")
                self.send_header("x-ratelimit-reset", "300")
                self.end_headers()
                self.wfile.write(body)

            def _fault(self, path) -> bool:
                for prefix, statuses in fake.faults.items():
                    if path.startswith(prefix) and statuses:
                        self._send({"error": statuses[0]}, statuses.pop(0))
                        return True
                return False

            def do_POST(self):
                form = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                fake.requests.append("POST " + self.path)
                if urlparse(self.path).path.rstrip("/") == "/api/morechildren":
                    return self._more(parse_qs(form))
                expected = "Basic " + base64.b64encode(":".join(credentials).encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self._send({"message": "Unauthorized", "error": 401}, 401)
                self._send({"access_token": "tok", "token_type": "bearer", "expires_in": 3600, "scope": "*"})

            def _more(self, query):
                pid = query["link_id"][0].removeprefix("t3_")
                things = [comment(c, pid, f"t3_{pid}", "other", f"Hang in there ({c}).") for c in query["children"][0].split(",")]
                self._send({"json": {"errors": [], "data": {"things": things}}})

            def do_GET(self):
                url = urlparse(self.path)
                path = url.path.rstrip("/")
                fake.requests.append("GET " + path)
                if self._fault(path):
                    return
                if path.startswith("/r/") and path.split("/")[2] in unknown:
                    self.send_response(302)
                    self.send_header("Location", f"/subreddits/search.json?q={path.split('/')[2]}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif path.startswith("/r/") and path.split("/")[2] in private:
                    self._send({"reason": "private", "message": "Forbidden", "error": 403}, 403)
                elif path.startswith("/r/") and path.split("/")[-1] in ("new", "hot", "top"):
                    self._send(_listing(post(p) for p in fake.posts))
                elif path.startswith("/comments/"):
                    pid = path.split("/")[2]
                    fake.comment_fetches[pid] += 1
                    time.sleep(delay)
                    reply = comment(f"{pid}r", pid, f"t1_{pid}c", "op_user", "Thank you, this helps")
                    top = comment(f"{pid}c", pid, f"t3_{pid}", "helper", "Try a short walk.", [reply])
                    tree = [top]
                    if more:
                        children = [f"{pid}m{i}" for i in range(more)]
                        tree.append({"kind": "more", "data": {"count": more, "name": f"t1_{children[0]}", "id": children[0],
                                                              "parent_id": f"t3_{pid}", "depth": 0, "children": children}})
                    self._send([_listing([post(pid)]), _listing(tree)])
                elif path == "/api/morechildren":
                    self._more(parse_qs(url.query))
                elif path == "/api/info":
                    ids = parse_qs(url.query).get("id", [""])[0].split(",")
                    self._send(_listing(fake.things[i] for i in ids if i in fake.things))
                else:
                    self._send({"error": 404}, 404)

        self.serve(Handler)
