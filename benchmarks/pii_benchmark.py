"""PII benchmark: recall of the scrubber on planted personal data, and what it does to clean text.

    python benchmarks/pii_benchmark.py                        # planted + clean sentences
    python benchmarks/pii_benchmark.py --pipeline             # also planted in dump records, through collect -> threads
    python benchmarks/pii_benchmark.py --real ../shared/data  # also the share of real texts changed
    python benchmarks/pii_benchmark.py --adversarial          # also the slowest of some hostile texts
    python benchmarks/pii_benchmark.py --pipeline --real ../shared/data --write   # the committed output

``--write`` writes ``benchmarks/pii_benchmark.json`` and ``benchmarks/pii_benchmark.md`` (counts
only: no text of the real records).

``benchmarks/pii/planted.yaml`` (kinds, values, templates) expands into planted sentences, a quarter
of them obfuscated (zero-width space inside the value, or full-width characters);
``benchmarks/pii/clean.txt`` holds sentences without personal data, many of them traps for naive
patterns ("I can't sleep at night.", crisis-line numbers, dates that are not birthdays). For each
kind it prints recall (planted items none of whose ``must_go`` strings survive) and, over the clean
sentences and the real texts, the share changed in any way. tests/test_privacy.py asserts the same
figures, so the README's table cannot drift from the code.

``--pipeline`` plants the same items (and the clean sentences, as controls) into Pushshift-format
dump records: one thread per item, the item at the end of the post body (followed by an ``EDIT:``
line, as real posts are), in the top-level comment or in the OP's reply, a third each. It runs the
real ``collect`` and ``threads`` stages on them in a scratch copy of the pipeline and counts an item
as surviving when any ``must_go`` string is left anywhere in ``data/raw/`` or ``data/threads.parquet``,
and a control as damaged when its text is not found unchanged in its unit.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).parent / "pii"
ROOT = Path(__file__).resolve().parents[1]
PIPELINE_FILES = ["params.yaml", "stages", "src", "takedown.txt", "published_ids.tsv"]
SALT = "pii-benchmark-salt-0123456789"
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
    real_kinds: dict[str, int] = field(default_factory=lambda: defaultdict(int))

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
                for kind in set(re.findall(r"\{\{[A-Z]+\}\}", out)) - set(re.findall(r"\{\{[A-Z]+\}\}", text)):
                    res.real_kinds[kind.strip("{}")] += 1
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


@dataclass
class PipelineResult:
    found: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    total: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    missed: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    clean_total: int = 0
    clean_damaged: list[tuple[str, str]] = field(default_factory=list)
    units_lost: list[str] = field(default_factory=list)

    def surviving(self, kinds=None) -> tuple[int, int]:
        kinds = [k for k in self.total if k != "NAME_UNCOVERED"] if kinds is None else kinds
        return sum(self.total[k] - self.found[k] for k in kinds), sum(self.total[k] for k in kinds)


FILLER = "I have been feeling low for a while and I don't really know who to talk to."


def _records(texts: list[str]) -> tuple[list[dict], list[dict], list[tuple[str, str]]]:
    """One thread per text (post -> top-level comment -> OP reply), the text in slot i % 3;
    returns submissions, comments and (post id, slot) per text."""
    subs, coms, where = [], [], []
    for i, text in enumerate(texts):
        slot = ("post_body", "comment_body", "op_replies")[i % 3]
        pid, cid, rid = f"pb{i}", f"cb{i}", f"rb{i}"
        body = f"{FILLER}\n\n{text}" if slot == "post_body" else FILLER
        subs.append({"id": pid, "name": f"t3_{pid}", "author": f"poster{i}", "subreddit": "MentalHealthSupport",
                     "title": "Need someone to talk to", "selftext": f"{body}\n\nEDIT: thank you all for replying.",
                     "created_utc": 1609459200 + i, "edited": 1609469200 + i, "score": 3, "is_self": True})
        coms.append({"id": cid, "name": f"t1_{cid}", "link_id": f"t3_{pid}", "parent_id": f"t3_{pid}", "author": f"helper{i}",
                     "subreddit": "MentalHealthSupport", "created_utc": 1609460200 + i, "score": 2,
                     "body": text if slot == "comment_body" else "That sounds hard, I'm glad you posted."})
        coms.append({"id": rid, "name": f"t1_{rid}", "link_id": f"t3_{pid}", "parent_id": f"t1_{cid}", "author": f"poster{i}",
                     "subreddit": "MentalHealthSupport", "created_utc": 1609461200 + i, "score": 1, "is_submitter": True,
                     "body": text if slot == "op_replies" else "Thank you, that means a lot."})
        where.append((pid, slot))
    return subs, coms, where


def _stage(repo: Path, name: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(repo / "src"), REDDITESS_SALT=SALT, REDDITESS_LOG="WARNING")
    proc = subprocess.run([sys.executable, f"stages/{name}.py"], cwd=repo, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"pii_benchmark --pipeline: stage {name} failed: {proc.stderr.strip()[-2000:]}")


def run_pipeline(workdir: Path | None = None) -> PipelineResult:
    """Plant every item and control in dump records, run collect and threads, count what survives."""
    import pandas as pd
    import pyarrow.parquet as pq

    items, controls = planted_items(), clean_sentences()
    texts = [it.text for it in items] + controls
    subs, coms, where = _records(texts)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        for name in PIPELINE_FILES:
            src = ROOT / name
            (shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")) if src.is_dir()
             else shutil.copy2(src, repo / name))
        (repo / "dumps").mkdir()
        (repo / "dumps/RS_pii.ndjson").write_text("".join(json.dumps(r) + "\n" for r in subs), encoding="utf-8")
        (repo / "dumps/RC_pii.ndjson").write_text("".join(json.dumps(r) + "\n" for r in coms), encoding="utf-8")
        params = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
        params["collect"].update(source="dump", workers=1)
        params["collect"]["dump"].update(paths=["dumps/R*_pii.ndjson"], root="dumps", subreddits=[])
        (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
        for stage in ("collect", "threads"):
            _stage(repo, stage)
        raw = {}
        for part in ("RS", "RC"):
            frame = pq.read_table(repo / f"data/raw/{part}.parquet").to_pandas()
            for rec in frame.to_dict("records"):
                raw[rec["id"]] = "\n".join(str(rec.get(k) or "") for k in ("title", "selftext", "body"))
        units = pd.read_parquet(repo / "data/threads.parquet").set_index("post_id")
    res = PipelineResult()
    for i, (pid, slot) in enumerate(where):
        if pid not in units.index:
            res.units_lost.append(pid)
            continue
        unit = units.loc[pid]
        # the post's own text before threads splits its EDIT/Update lines off into post_edit
        slot_text = (" ".join(unit[slot]) if slot == "op_replies" else raw.get(pid, "") if slot == "post_body"
                     else str(unit[slot]))
        everything = _visible(" ".join([raw.get(pid, ""), raw.get(f"cb{i}", ""), raw.get(f"rb{i}", ""), str(unit.post_body),
                                        str(unit.post_edit), str(unit.comment_body), " ".join(unit.op_replies)]))
        if i < len(items):
            item = items[i]
            res.total[item.kind] += 1
            if any(_visible(s) in everything for s in item.must_go):
                res.missed[item.kind].append(f"{item.text!r} -> {slot_text!r}")
            else:
                res.found[item.kind] += 1
        else:
            res.clean_total += 1
            if texts[i] not in slot_text:
                res.clean_damaged.append((texts[i], slot_text))
    return res


def pipeline_table(res: PipelineResult) -> str:
    rows = ["| kind | planted | surviving | recall |", "|---|---:|---:|---:|"]
    rows += [f"| {k} | {res.total[k]} | {res.total[k] - res.found[k]} | {res.found[k] / res.total[k]:.3f} |" for k in res.total]
    left, planted = res.surviving()
    rows += ["", f"planted identifiers surviving collect -> threads: {left} of {planted} ({left / planted:.2%}; "
             "NAME_UNCOVERED, the documented gap, not counted)",
             f"clean controls damaged: {len(res.clean_damaged)} of {res.clean_total}; units lost: {len(res.units_lost)}"]
    return "\n".join(rows)


def summary(res: Result, pipe: PipelineResult | None) -> dict:
    """Counts for benchmarks/pii_benchmark.json (no text)."""
    out: dict = {"sentences": {k: {"planted": res.total[k], "found": res.found[k], "recall": round(res.recall(k), 4)} for k in res.total},
                 "clean_sentences": res.clean_total, "clean_sentences_changed": len(res.clean_changed)}
    if res.real_total:
        out.update(real_texts=res.real_total, real_texts_changed=len(res.real_changed),
                   real_texts_changed_by_kind=dict(sorted(res.real_kinds.items())))
    if pipe is not None:
        left, planted = pipe.surviving()
        out["pipeline"] = {
            "kinds": {k: {"planted": pipe.total[k], "surviving": pipe.total[k] - pipe.found[k],
                          "recall": round(pipe.found[k] / pipe.total[k], 4)} for k in pipe.total},
            "planted": planted, "surviving": left, "surviving_share": round(left / planted, 4),
            "clean_controls": pipe.clean_total, "clean_controls_damaged": len(pipe.clean_damaged), "units_lost": len(pipe.units_lost)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, help="folder of real NDJSON records (e.g. ../shared/data)")
    parser.add_argument("--show", action="store_true", help="print every miss and every changed text")
    parser.add_argument("--adversarial", action="store_true", help="time the scrubber on hostile 40k-character texts")
    parser.add_argument("--pipeline", action="store_true", help="also plant the items in dump records through collect -> threads")
    parser.add_argument("--write", action="store_true", help="write benchmarks/pii_benchmark.json and .md")
    args = parser.parse_args()
    res = run(args.real)
    print(table(res))
    pipe = run_pipeline() if args.pipeline else None
    if pipe is not None:
        print("\n## Through collect -> threads\n\n" + pipeline_table(pipe))
    if args.write:
        here = Path(__file__).parent
        (here / "pii_benchmark.json").write_text(json.dumps(summary(res, pipe), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        md = ["# PII benchmark", "", "`python benchmarks/pii_benchmark.py --pipeline --real ../shared/data --write`", "",
              "## Planted sentences, scrubbed one by one", "", table(res)]
        if pipe is not None:
            md += ["", "## Planted in dump records, through collect -> threads", "", pipeline_table(pipe)]
        if res.real_total:
            md += ["", "Real texts changed, by placeholder kind: "
                   + ", ".join(f"{k} {v}" for k, v in sorted(res.real_kinds.items()))]
        (here / "pii_benchmark.md").write_text("\n".join(md) + "\n", encoding="utf-8")
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
        if pipe is not None:
            for kind, misses in pipe.missed.items():
                for m in misses:
                    print(f"PIPELINE MISS {kind}: {m}")
            for text, out in pipe.clean_damaged:
                print(f"PIPELINE DAMAGED: {text!r}\n     -> {out!r}")


if __name__ == "__main__":
    sys.exit(main())
