"""Exact and near-duplicate texts, grouped so that a group never spans two splits.

Disjoint posts are not disjoint data when the same words appear under several posts: copypasta,
bots, a commenter pasting one answer into many threads, or a simulator's stock sentences. ``split``
therefore assigns *groups* of posts, not posts: two posts fall in one group when a text of one (its
title and body, or a labeled comment's body) is the same as, or a near duplicate of, a text of the
other.

* **Normalised text** (:func:`normalise_text`): lower case, letters and digits only, single spaces.
  Equal normalised texts are exact duplicates.
* **Near duplicates**: the Jaccard similarity of the texts' word 3-gram shingles is at least
  ``threshold`` (``split.near_duplicate_threshold``). Candidates come from MinHash LSH
  (``datasketch``, seeded, so the groups are the same on every run), and every candidate pair is
  verified on its exact Jaccard, so LSH can only miss a pair, never invent one.
* Texts shorter than ``min_words`` (``split.dedup_min_words``) are not grouped: "thank you" under
  a hundred posts is not leakage, and grouping on it would chain those posts into one giant group.
  They are counted (``dedup_short_texts``).

Groups are connected components (union–find) of the posts under these links; :func:`duplicate_groups`
returns each post's group (its smallest post id) and the counts the split report shows.
"""

from __future__ import annotations

import re
from collections import defaultdict

_NON_WORD = re.compile(r"[^0-9a-z]+")
SHINGLE = 3


def normalise_text(text: str) -> str:
    """Lower case, letters and digits only, single spaces (the form duplicates are compared in)."""
    return " ".join(_NON_WORD.sub(" ", (text or "").lower()).split())


def shingles(norm: str, k: int = SHINGLE) -> set[str]:
    words = norm.split()
    if len(words) <= k:
        return {norm} if norm else set()
    return {" ".join(words[i:i + k]) for i in range(len(words) - k + 1)}


class _UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        lo, hi = sorted((ra, rb))
        self.parent[hi] = lo  # the smallest id names the group: independent of the order of unions
        return True


def duplicate_groups(post_ids: list[str], texts: list[str], threshold: float, min_words: int,
                     seed: int, num_perm: int = 128) -> tuple[dict[str, str], dict[str, int]]:
    """Group posts that share an exact or near-duplicate text.

    ``post_ids[i]`` owns ``texts[i]`` (a post's own text or one of its comments). Returns
    (post -> group id, counts: exact and near-duplicate text pairs that link two posts, short texts
    left out, groups, groups of two or more posts, posts in them, and the largest group's posts)."""
    from datasketch import MinHash, MinHashLSH

    uf = _UnionFind()
    for p in sorted(set(post_ids)):
        uf.find(p)
    counts = {"dedup_short_texts": 0, "dedup_exact_links": 0, "dedup_near_links": 0}
    by_norm: dict[str, set[str]] = defaultdict(set)
    for post, text in zip(post_ids, texts, strict=True):
        norm = normalise_text(text)
        if len(norm.split()) < min_words:
            counts["dedup_short_texts"] += 1
            continue
        by_norm[norm].add(post)
    for norm in sorted(by_norm):
        posts = sorted(by_norm[norm])
        for other in posts[1:]:
            counts["dedup_exact_links"] += uf.union(posts[0], other)
    # Near duplicates between distinct normalised texts.
    keys = sorted(by_norm) if threshold < 1 else []  # threshold 1: exact duplicates only
    grams = [shingles(k) for k in keys]
    # Candidates at a threshold LSH can band (at most 0.9); each is verified on its exact Jaccard.
    lsh = MinHashLSH(threshold=min(threshold, 0.9), num_perm=num_perm)
    hashes = []
    for i, g in enumerate(grams):
        m = MinHash(num_perm=num_perm, seed=seed)
        m.update_batch([s.encode() for s in sorted(g)])
        hashes.append(m)
        lsh.insert(str(i), m)
    for i, m in enumerate(hashes):
        for j in sorted(int(c) for c in lsh.query(m)):
            if j <= i:
                continue
            inter = len(grams[i] & grams[j])
            if inter / (len(grams[i]) + len(grams[j]) - inter) < threshold:
                continue
            a, b = min(by_norm[keys[i]]), min(by_norm[keys[j]])
            counts["dedup_near_links"] += uf.union(a, b)
    group = {p: uf.find(p) for p in sorted(set(post_ids))}
    sizes = defaultdict(int)
    for g in group.values():
        sizes[g] += 1
    merged = [s for s in sizes.values() if s > 1]
    counts.update(dedup_groups=len(sizes), dedup_merged_groups=len(merged), dedup_posts_in_merged_groups=sum(merged),
                  dedup_largest_group_posts=max(sizes.values(), default=0))
    return group, counts
