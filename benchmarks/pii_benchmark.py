"""PII benchmark: recall of the scrubber on planted personal data, and what it does to clean text.

    python benchmarks/pii_benchmark.py                        # planted + clean sentences
    python benchmarks/pii_benchmark.py --real ../shared/data  # also the share of real texts changed
    python benchmarks/pii_benchmark.py --adversarial          # also the slowest of some hostile texts

``benchmarks/pii/planted.yaml`` (kinds, values, templates) expands into planted sentences, a quarter
of them obfuscated (zero-width space inside the value, or full-width characters);
``benchmarks/pii/clean.txt`` holds sentences without personal data, many of them traps for naive
patterns ("I can't sleep at night.", crisis-line numbers, dates that are not birthdays). For each
kind it prints recall (planted items none of whose ``must_go`` strings survive) and, over the clean
sentences and the real texts, the share changed in any way. tests/test_privacy.py asserts the same
figures, so the README's table cannot drift from the code.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).parent / "pii"
FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@."}


@dataclass
class Planted:
    kind: str
    text: str
    must_go: list[str]


@dataclass
class Result:
    found: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    total: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    missed: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    clean_total: int = 0
    clean_changed: list[tuple[str, str]] = field(default_factory=list)
    real_total: int = 0
    real_changed: list[tuple[str, str]] = field(default_factory=list)

    def recall(self, kind: str) -> float:
        return self.found[kind] / self.total[kind]


def _obfuscate(value: str, i: int) -> str:
    if i % 8 == 1 and len(value) > 3:  # a zero-width space in the middle
        mid = len(value) // 2
        return value[:mid] + "\u200b" + value[mid:]
    if i % 8 == 5:  # full-width letters and digits
        return "".join(FULLWIDTH.get(c, c) for c in value)
    return value


def planted_items(path: Path = HERE / "planted.yaml") -> list[Planted]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = []
    for kind, entry in spec.items():
        skip = entry.get("skip", {})
        i = 0
        for template in entry["templates"]:
            for raw in entry["values"]:
                value, must_go = (raw["value"], raw["must_go"]) if isinstance(raw, dict) else (raw, [raw])
                if value in skip.get(template, []):
                    continue
                if entry.get("must_go_digits"):  # "zip code 60614": the number must go, not the words
                    must_go = [w for w in value.replace(":", " ").split() if any(c.isdigit() for c in w)]
                    if not must_go or len(value.split()) <= 2:
                        must_go = [value]
                items.append(Planted(kind, template.format(_obfuscate(value, i)), must_go))
                i += 1
    return items


def clean_sentences(path: Path = HERE / "clean.txt") -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]


def real_texts(root: Path) -> list[str]:
    texts = []
    for f in sorted(glob.glob(str(root / "**" / "*.ndjson"), recursive=True)):
        for line in open(f, encoding="utf-8"):
            rec = json.loads(line)
            for key in ("title", "selftext", "body", "link_flair_text"):
                value = rec.get(key)
                if isinstance(value, str) and value and value not in ("[deleted]", "[removed]"):
                    texts.append(value)
    return texts


def _visible(text: str) -> str:
    from redditess.privacy import INVISIBLE

    return unicodedata.normalize("NFKC", "".join(c for c in text if c not in INVISIBLE and c != "\u200d"))


def run(real_root: Path | None = None) -> Result:
    from redditess.privacy import clean_text, scrub

    res = Result()
    for item in planted_items():
        out = _visible(scrub(item.text))
        res.total[item.kind] += 1
        if any(_visible(s) in out for s in item.must_go):
            res.missed[item.kind].append(f"{item.text!r} -> {out!r}")
        else:
            res.found[item.kind] += 1
    for text in clean_sentences():
        res.clean_total += 1
        if (out := scrub(text)) != text:
            res.clean_changed.append((text, out))
    if real_root is not None:
        for text in real_texts(real_root):
            res.real_total += 1
            # cleaning (control and invisible characters) is not damage; a placeholder is
            if (out := scrub(text)) != clean_text(text):
                res.real_changed.append((text, out))
    return res


def table(res: Result) -> str:
    rows = ["| kind | planted | found | recall |", "|---|---:|---:|---:|"]
    rows += [f"| {k} | {res.total[k]} | {res.found[k]} | {res.recall(k):.3f} |" for k in res.total]
    rows.append("")
    rows.append(f"clean sentences changed: {len(res.clean_changed)} of {res.clean_total} "
                f"({len(res.clean_changed) / res.clean_total:.2%})")
    if res.real_total:
        rows.append(f"real texts changed: {len(res.real_changed)} of {res.real_total} "
                    f"({len(res.real_changed) / res.real_total:.2%})")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, help="folder of real NDJSON records (e.g. ../shared/data)")
    parser.add_argument("--show", action="store_true", help="print every miss and every changed text")
    parser.add_argument("--adversarial", action="store_true", help="time the scrubber on hostile 40k-character texts")
    args = parser.parse_args()
    res = run(args.real)
    print(table(res))
    if args.adversarial:
        import time

        from redditess.privacy import scrub

        # Reddit caps a post at 40,000 characters; patterns that backtrack would take minutes here
        hostile = {"word@word": "a" * 20000 + "@" + "b" * 20000, "dotted run": "a.b" * 13000 + "@x",
                   "spelled at": "a at b " * 6000, "digits": "4111 " * 8000, "ones": "1 " * 20000,
                   "postcodes": "SW1A 2AA " * 4500, "addresses": "1 Elm Street, London NW1 6XE " * 1400,
                   "zero-width": "\u200b".join("abc" * 4500), "full-width": "ｍ" * 40000}
        for name, text in hostile.items():
            start = time.perf_counter()
            scrub(text)
            print(f"{name:>12}: {len(text):>6} chars scrubbed in {time.perf_counter() - start:.2f} s")
    if args.show:
        for kind, misses in res.missed.items():
            for m in misses:
                print(f"MISS {kind}: {m}")
        for text, out in res.clean_changed + res.real_changed:
            print(f"CHANGED: {text[:300]!r}\n     -> {out[:300]!r}")


if __name__ == "__main__":
    sys.exit(main())
