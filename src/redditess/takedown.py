"""The takedown list: ids (posts or comments) that must vanish from every output.

``takedown.txt`` (tracked in git, a dependency of the collect stage) holds one id per line, bare or
with its ``t3_``/``t1_`` prefix; ``#`` starts a comment. A post id removes the post and every
comment under it; a comment id removes the comment and its replies. Collect applies the list before
writing anything, so every downstream stage rebuilds without them; a judge stage keeps in its
ledger only the answers for the current units, so the requests and rationales of removed units go
too. Outside the pipeline, ``redditess takedown apply`` removes them from annotation exports and
human sheets; the DVC cache and remote still hold earlier versions until ``dvc gc --workspace
--cloud``; ``redditess takedown verify`` then searches every output, the cache and directory
remotes for the ids and their texts (see :mod:`redditess.purge` and the README's takedown procedure).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from redditess.runtime import InputError
from redditess.sources.dump import strip_prefix


def load_takedown(path: str | Path) -> set[str]:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: takedown list not found (an empty file means nothing to remove)")
    ids = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        token = line.split("#", 1)[0].strip()
        if not token:
            continue
        if not token.replace("_", "").isalnum():
            raise InputError(f"{path}:{lineno}: not a Reddit id: {token!r}")
        ids.add(strip_prefix(token))
    return ids


def _parents(comments: Iterable[dict]) -> dict[str, str]:
    """comment id -> parent comment id ("" when the parent is the post)."""
    return {c["id"]: strip_prefix(str(c["parent_id"])) if str(c["parent_id"]).startswith("t1_") else "" for c in comments}


def comment_cycles(comments: Iterable[dict]) -> set[str]:
    """Ids of comments on a parent cycle (a comment that is its own parent, or ``a -> b -> a``).

    Such comments can never be reached from their post; a naive walk up their parents never ends.
    Each comment is visited once: a walk stops at a comment already decided, or finds a cycle when
    it meets a comment of its own path."""
    parent = _parents(comments)
    state: dict[str, int] = {}  # 1: on the current path, 2: decided
    cyclic: set[str] = set()
    for start in parent:
        path, node = [], start
        while node and node in parent and state.get(node) is None:
            state[node] = 1
            path.append(node)
            node = parent[node]
        if node and state.get(node) == 1:  # the walk came back to its own path: a cycle from node on
            cyclic.update(path[path.index(node):])
        for n in path:
            state[n] = 2
    return cyclic


def removed_comments(comments: Iterable[dict], takedown: set[str]) -> set[str]:
    """Ids of comments that are taken down, under a taken-down post, or under a taken-down comment.

    Safe on malformed trees: a walk that meets its own path (a parent cycle) stops."""
    if not takedown:
        return set()
    comments = list(comments)
    parent = _parents(comments)
    for c in comments:
        if strip_prefix(str(c["link_id"])) in takedown:
            parent[c["id"]] = "\0post"  # marks a comment of a removed post
    removed: set[str] = set()
    verdict: dict[str, bool] = {}
    for cid in parent:
        chain, on_chain, node, hit = [], set(), cid, False
        while node and node not in verdict and node not in on_chain:
            chain.append(node)
            on_chain.add(node)
            if node in takedown or parent.get(node) == "\0post":
                hit = True
                break
            node = parent.get(node, "")
        else:
            hit = verdict.get(node, False) if node and node not in on_chain else False
        for n in chain:
            verdict[n] = hit
        if hit:
            removed.add(cid)
    return removed
