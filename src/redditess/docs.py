"""``redditess docs``: every figure in README.md and docs/*.md, generated from the committed files.

A page marks each generated part with a pair of HTML comments (invisible when rendered)::

    <!-- gen: claims -->
    ...the claims verdict table, written by `redditess docs`...
    <!-- /gen -->

or inline, inside a sentence: ``<!-- gen: metric aggregate.truth_accuracy_op_reply -->0.9274<!-- /gen -->``.
``redditess docs`` rewrites every block from the files it names (metrics/, benchmarks/, dvc.lock,
artifact/claims/) and ``redditess docs --check`` exits 1 naming each stale block; tests/test_docs.py
regenerates every page in memory and compares. A file a block needs that is absent stops the
command with one line naming the file (``error: metrics/evaluate/judges.json: missing ...``), so a
page is never written from partial results.

Blocks (:data:`GENERATORS`): ``claims`` (the verdict table of the default profile's claims, from
``redditess claims``'s check; ``claims-count FILE`` another claims file's), ``failures`` (every claim
that did not reproduce and why), ``repro-time`` / ``repro-stages [FILE]`` (the rebuild's measured time and
memory; ``repro-wall`` its wall time in one line), ``sizes`` (data
and models in dvc.lock), ``claim-costs`` (per claim: the command, the stages, the measured time and
memory), ``metric [FOLDER:]STEM.KEY [FORMAT]`` (one figure; ``real:`` from real/metrics; FORMAT ``yesno`` for a 0/1 flag), ``pii``, ``threads-scale``, ``judge-throughput``,
``dump-ingest``, ``paper-scale-cpu``, ``paper-scale-gpu``, ``docker-smoke [FILE]`` (the benchmark tables), ``docs-index`` (the
table of docs/ pages).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import yaml

from redditess.runtime import InputError

BLOCK = re.compile(r"<!-- gen: (?P<spec>[^>]*?) -->(?P<body>.*?)<!-- /gen -->", re.S)
DEFAULT_CLAIMS = "artifact/claims/demo.yaml"

# docs/ pages in the order the README's table lists them; a page not listed here follows, by name.
PAGES = {
    "artifact-evaluation.md": "ACM badges; per claim: the command that recomputes it, the stages, measured time and memory",
    "reviewers.md": "the remote and the archived copy: pull the results, reproduce nothing, check",
    "pipeline.md": "every stage, its outputs, the two judges, configuration and determinism",
    "demo-testbed.md": "the seeded simulator and its gold oracle: what the demo can and cannot show",
    "real-data.md": "dump files, the live API, the OP-reply labeler, the committed real-profile results (real/), human validation",
    "llm-judges.md": "LLM judges: endpoints, ledgers, cost, correlated judges",
    "privacy.md": "minimisation, pseudonyms, the PII scrubber and its benchmark, takedowns",
    "paper-profile.md": "the paper profile: GPUs, precision, LoRA, several GPUs, hub models",
    "containers.md": "Docker images (CPU and CUDA) and their smoke test",
    "online-rl.md": "the online RL arms (PPO, RLOO)",
    "benchmarks.md": "every benchmark, its command and its committed output file",
    "tests.md": "what the test suite covers and how to run it",
}


class Sources:
    """The committed files a render reads, under one root; a missing one stops it with one line."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.block = ""

    def path(self, rel: str) -> Path:
        p = self.root / rel
        if not p.exists():
            raise InputError(f"{rel}: missing (needed by the generated block '{self.block}'; it is committed to git, "
                             "and `dvc repro` or its benchmark script writes it)")
        return p

    def text(self, rel: str) -> str:
        return self.path(rel).read_text(encoding="utf-8")

    def json(self, rel: str):
        try:
            return json.loads(self.text(rel))
        except json.JSONDecodeError as exc:
            raise InputError(f"{rel}:{exc.lineno}: not JSON ({exc.msg})") from None


# --- formatting ---------------------------------------------------------------------------------

def duration(seconds: float) -> str:
    """``1017.6`` -> ``16 min 58 s``; under a minute, ``47 s``; from an hour, ``1 h 3 min``."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {(s % 3600) // 60} min"


def wall_seconds(text: str) -> float:
    """GNU time's ``h:mm:ss`` or ``m:ss.ss`` as seconds."""
    parts = [float(p) for p in text.split(":")]
    total = 0.0
    for p in parts:
        total = total * 60 + p
    return total


def nbytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


# --- the benchmark files ------------------------------------------------------------------------

REPRO_LINE = re.compile(r"^(?P<what>install|dvc-repro-again|dvc-repro)(?:-(?!again)\S+)?: wall (?P<wall>[\d:.]+), peak RSS (?P<rss>[\d.]+) GiB")


def repro_time(src: Sources, rel: str = "benchmarks/repro_time.txt") -> dict:
    """A file written by benchmarks/repro_time.sh (benchmarks/repro_time.txt; the real folder
    pipeline's benchmarks/real_repro_time.txt) as a dict."""
    lines = src.text(rel).splitlines()
    head = re.match(r"# benchmarks/repro_time.sh, (?P<date>\S+), commit (?P<commit>\S+)", lines[0] if lines else "")
    if not head:
        raise InputError(f"{rel}:1: expected '# benchmarks/repro_time.sh, <date>, commit <sha>'")
    out: dict = {"date": head["date"], "commit": head["commit"], "file": rel, "stage_times": {}, "stage_totals": {}}
    for line in lines[1:]:
        if m := re.match(r"^stage (?P<name>\S+): (?P<s>[\d.]+) s$", line):
            out["stage_times"][m["name"]] = float(m["s"])
        elif m := re.match(r"^all replicates of (?P<name>\S+): (?P<s>[\d.]+) s$", line):
            out["stage_totals"][m["name"]] = float(m["s"])
        elif m := REPRO_LINE.match(line):
            out[m["what"]] = (wall_seconds(m["wall"]), float(m["rss"]))
        elif line.startswith(("machine: ", "python: ")):
            out[line.split(":", 1)[0]] = line.split(":", 1)[1].strip()
        elif line.startswith("stages run again: "):
            out["stages_again"] = int(line.split(": ", 1)[1])
        elif line.startswith("stages run: "):
            out["stages"] = int(line.split(": ", 1)[1])
        elif line.startswith("committed results"):
            out["committed"] = line
    for line in lines[1:]:  # REPRO_VENV: an installed venv reused, the install not timed
        if line.startswith("install: skipped"):
            out["install"] = None
    for key in ("install", "dvc-repro", "machine"):
        if key not in out:
            raise InputError(f"{rel}: no '{key}' line")
    return out


def gen_repro_time(src: Sources, *_: str) -> str:
    t = repro_time(src)
    repro, repro_rss = t["dvc-repro"]
    install = (f"{duration(t['install'][0])} | {t['install'][1]:.2f} GiB" if t["install"]
               else "not timed (an installed venv reused: `REPRO_VENV`) | —")
    lines = [f"Measured by `benchmarks/repro_time.sh` (a fresh clone, each step under `/usr/bin/time -v`) "
             f"at commit {t['commit']}, {t['date']}, on {t['machine']}" + (f" ({t['python']})" if "python" in t else "")
             + f"; from `{t['file']}`:", "",
             "| step | wall-clock | peak memory (largest process) |", "|---|---:|---:|",
             f"| install (`pip install -r requirements.txt`) | {install} |",
             f"| `dvc repro` ({t.get('stages', '?')} stages) | {duration(repro)} | {repro_rss:.2f} GiB |"]
    if "dvc-repro-again" in t:
        again, again_rss = t["dvc-repro-again"]
        lines.append(f"| `dvc repro` again ({t.get('stages_again', '?')} stages run) | {duration(again)} | {again_rss:.2f} GiB |")
    if "committed" in t:
        lines += ["", f"That run's comparison with the results committed at the time: {t['committed'].split(': ', 1)[-1]}"
                  if ":" in t["committed"] else t["committed"]]
    return "\n".join(lines)


def gen_repro_wall(src: Sources, *_: str) -> str:
    """One line: the fresh-clone `dvc repro`'s wall time, where and when (the table: ``repro-time``)."""
    t = repro_time(src)
    return (f"{duration(t['dvc-repro'][0])} ({t.get('stages', '?')} stages, commit {t['commit']}, "
            f"{t['machine'].split(',')[0]} {t['machine'].split(',')[1].strip()}; `{t['file']}`)")


def gen_repro_stages(src: Sources, rel: str = "benchmarks/repro_time.txt", *_: str) -> str:
    """Each stage's wall time in a `repro_time.sh` run, summed over its replicates, largest first:
    where a rebuild's time goes (the stage lasts from its "Running stage" line to the next one's)."""
    t = repro_time(src, rel)
    if not t["stage_totals"]:
        raise InputError(f"{rel}: no 'all replicates of <stage>: <n> s' line (rerun benchmarks/repro_time.sh)")
    total = sum(t["stage_totals"].values())
    counts = {base: sum(1 for s in t["stage_times"] if s.split("@", 1)[0] == base) for base in t["stage_totals"]}
    rows = [f"| {base} | {counts[base]} | {duration(secs)} | {duration(secs / max(counts[base], 1))} | {secs / total:.0%} |"
            for base, secs in sorted(t["stage_totals"].items(), key=lambda kv: -kv[1])]
    return "\n".join([f"Where a `dvc repro` run spent its time, stage by stage (`{rel}`, commit {t['commit']}; a stage "
                      "lasts from its \"Running stage\" line to the next one's):", "",
                      "| stage | runs | wall-clock, all runs | per run | share |", "|---|---:|---:|---:|---:|", *rows, "",
                      f"Sum: {duration(total)}."])


def gen_sizes(src: Sources, *_: str) -> str:
    lock = yaml.safe_load(src.text("dvc.lock")) or {}
    sizes: dict[str, list[int]] = {}
    for stage in (lock.get("stages") or {}).values():
        for out in stage.get("outs", []):
            top = out["path"].split("/", 1)[0]
            if top in ("data", "models", "ledgers"):
                entry = sizes.setdefault(top, [0, 0])
                entry[0] += int(out.get("size", 0))
                entry[1] += int(out.get("nfiles", 1))
    return ", ".join(f"{name} {nbytes(size)} ({n} files)" for name, (size, n) in sorted(sizes.items())) + " (`dvc.lock`)"


def gen_metric(src: Sources, name: str = "", fmt: str = ".4g", *_: str) -> str:
    from redditess.claims import load_metrics_file

    # `<folder>:<stem>.<key>` reads a folder pipeline's metrics (real:classifier.test_roc_auc)
    folder, _, rest = name.rpartition(":")
    if "." not in rest:
        raise InputError(f"block 'metric {name}': name a metric as [<pipeline folder>:]<metrics file stem>.<key>")
    stem, key = rest.split(".", 1)
    base = f"{folder}/metrics" if folder else "metrics"
    rel = f"{base}/{stem}.json"
    if not (src.root / rel).exists():
        src.path(f"{base}/{stem}")  # per-replicate files: metrics/<stem>/<i>.json
        rel = f"{base}/{stem}/"
    value = load_metrics_file(src.root / base, stem).get(key)
    if not isinstance(value, (int, float)):
        raise InputError(f"{rel}: no number under {key!r} (needed by the generated block 'metric {name}')")
    if fmt == "yesno":  # a 0/1 flag (beats_baselines); over replicates, the share that were 1
        return "yes" if value == 1 else "no" if value == 0 else f"in {value:.0%} of replicates"
    return format(value, fmt)


def gen_pii(src: Sources, *_: str) -> str:
    rel = "benchmarks/pii_benchmark.md"
    text = src.text(rel)
    table = [line for line in text.splitlines() if line.startswith("|")]
    tail = [line for line in text.splitlines() if re.match(r"^(clean sentences|real texts) changed", line)]
    if not table:
        raise InputError(f"{rel}: holds no table")
    return "\n".join([f"From `{rel}` (written by `python benchmarks/pii_benchmark.py --pipeline --real ../shared/data --write`):",
                      "", *table, "", *(f"* {line}" for line in tail)])


def gen_threads_scale(src: Sources, *_: str) -> str:
    rel = "benchmarks/threads_scale.json"
    d = src.json(rel)
    rows = [f"| {r['comments'] / 1e6:g} M | {r['dump_mb_zst']:.0f} MB | {r['collect_s']:.0f} s | {r['threads_s']:.0f} s | "
            f"{r['records_per_s']:,} | {r['collect_peak_rss_mib']} MiB | {r['threads_peak_rss_mib']} MiB |" for r in d["runs"]]
    first, last = d["runs"][0], d["runs"][-1]
    return "\n".join([f"From `{rel}` (`{d['command']}`, {d['date']}, {d['machine']}; `collect.workers: {d['workers']}`, "
                      f"`threads.memory_mb: {d['memory_mb']}`):", "",
                      "| comments | dump (.zst) | collect | threads | records/s (both) | collect peak RSS | threads peak RSS |",
                      "|---:|---:|---:|---:|---:|---:|---:|", *rows, "",
                      f"Peak RSS at {last['comments'] / 1e6:g} M comments is {last['peak_rss_mib'] / first['peak_rss_mib']:.2f}× "
                      f"that at {first['comments'] / 1e6:g} M."])


def gen_judge_throughput(src: Sources, *_: str) -> str:
    rel = "benchmarks/judge_throughput.json"
    d = src.json(rel)
    rows = [f"| {lv['concurrency']} | {lv['requests']} | {', '.join(f'{x:.1f}' for x in lv['requests_per_s'])} | "
            f"{lv['median']:.1f} | {lv['ideal']:g} | {lv['median'] / lv['ideal']:.0%} |" for lv in d["levels"]]
    return "\n".join([f"From `{rel}` (`{d['command']}`, {d['date']}, {d['machine']}; load average {d['load_start']:.2f} at the "
                      f"start, {d['load_end']:.2f} at the end; a server answering after {d['delay_s'] * 1000:.0f} ms):", "",
                      "| concurrency N | requests per run | requests/s per run | median | ideal N/delay | share |",
                      "|---:|---:|---|---:|---:|---:|", *rows, "",
                      f"Target: a median of at least {d['target']:.0%} of N/delay at every level — "
                      f"{'met' if d['all_levels_ok'] else '**not met**'}."])


def gen_dump_ingest(src: Sources, *_: str) -> str:
    rel = "benchmarks/dump_ingest.json"
    d = src.json(rel)
    rows = [f"| {r['file_mb']:.0f} MB ({r['zst_mb']:.0f} MB .zst) | {r['method']} | {r['mb_per_s']:.0f} | {r['peak_mb']:.0f} MB |"
            for r in d["runs"]]
    return "\n".join([f"From `{rel}` (`{d['command']}`, {d['date']}, {d['machine']}):", "",
                      "| file (uncompressed) | method | MB/s | peak RSS |", "|---|---|---:|---:|", *rows, "",
                      "Speed-up of `read_dumps` over the naive reader: " + ", ".join(
                          f"{mb:.0f} MB {x:.2f}×" for mb, x in d["speedup"]) + "."])


def _paper_scale_rows(runs: list[tuple[str, dict]]) -> list[str]:
    out = []
    for label, d in runs:
        for r in d["stages"]:
            peak = f"{r['peak_gpu_gib']:.1f} GiB" if r.get("peak_gpu_gib") is not None else "—"
            out.append(f"| {label} | {r['stage']} | {r['steps_per_s']:.3g} | {r['tokens_per_s']:,.0f} | {peak} | "
                       f"{r['changed_share']:.1%} |")
    return out


def _paper_scale(src: Sources, folder: str) -> str:
    files = sorted(src.path(folder).glob("*.json"))
    if not files:
        raise InputError(f"{folder}/: no *.json (benchmarks/paper_scale.py --out writes them)")
    runs = []
    for f in files:
        d = src.json(f.relative_to(src.root).as_posix())
        s = d["setup"]
        label = (f"`{f.name}`: {s['device']}, {s['model']} ({s['parameters'] / 1e6:,.1f} M params), "
                 f"{'LoRA' if s['lora'] else 'full'}, {s['dtype']}, batch {'/'.join(str(v) for v in s['batch_sizes'].values())}"
                 + (f" × {s['gradient_accumulation_steps']} accumulation" if s.get("gradient_accumulation_steps", 1) > 1 else ""))
        runs.append((label, d))
    return "\n".join([f"From `{folder}/` (`benchmarks/paper_scale.py --out`):", "",
                      "| run | stage | steps/s | tokens/s | peak GPU memory | weights changed |", "|---|---|---:|---:|---:|---:|",
                      *_paper_scale_rows(runs)])


def gen_paper_scale_cpu(src: Sources, *_: str) -> str:
    return _paper_scale(src, "benchmarks/paper_scale_cpu")


def gen_paper_scale_gpu(src: Sources, *_: str) -> str:
    return _paper_scale(src, "benchmarks/paper_scale_gpu")


# --- the claims ---------------------------------------------------------------------------------

def _claims(src: Sources, claims_file: str = DEFAULT_CLAIMS):
    from redditess.claims import check, load_claims, load_scope, metric_stems, pipeline_root

    path = src.path(claims_file)
    claims = load_claims(path)
    base = (pipeline_root(path, src.root) / "metrics").as_posix()  # the claims file's pipeline folder
    for stem in sorted(set(metric_stems(claims))):
        if not (src.root / base / f"{stem}.json").exists() and not (src.root / base / stem).is_dir():
            src.path(f"{base}/{stem}.json")  # raises, naming the file
    return check(claims, src.root / base, load_scope(path))


def gen_claims(src: Sources, claims_file: str = DEFAULT_CLAIMS, *_: str) -> str:
    from redditess.claims import verdict_table

    return verdict_table(_claims(src, claims_file)) + f" (`redditess claims --compact`; claims: `{claims_file}`)"


def gen_claims_count(src: Sources, claims_file: str = DEFAULT_CLAIMS, *_: str) -> str:
    results = _claims(src, claims_file)
    return f"{sum(r.status == 'reproduced' for r in results)} of {len(results)} claims reproduced"


MEANING = {
    "NOT reproduced": "the mean or its 95% CI misses the bound, or does not clear the baseline it must beat",
    "precondition failed": "what the claim rests on does not hold, so its test is no evidence either way",
    "missing": "a metric it reads is not in the committed files",
}


def gen_failures(src: Sources, claims_file: str = DEFAULT_CLAIMS, *_: str) -> str:
    """The claims that did not reproduce, grouped by status (the table above has each one's figures)."""
    results = _claims(src, claims_file)
    lines = []
    for status, meaning in MEANING.items():
        hit = [r for r in results if r.status == status]
        if not hit:
            continue
        if status == "NOT reproduced":
            line = f"* **{status}** ({len(hit)}): {', '.join(r.claim.id for r in hit)} — {meaning}"
        else:  # which precondition, which metric
            line = f"* **{status}** ({len(hit)}) — {meaning}: " + "; ".join(f"{r.claim.id} ({r.detail})" for r in hit)
        lines.append(line + ".")
    return "\n".join(lines) or "Every claim reproduced."


def stage_graph(src: Sources) -> tuple[dict[str, set[str]], dict[str, str], dict[str, int]]:
    """dvc.yaml's stages (``foreach`` stages under their own name, with how many items): each
    stage's upstream stages, and which stage writes each output path."""
    spec = yaml.safe_load(src.text("dvc.yaml")) or {}
    params = yaml.safe_load(src.text("params.yaml")) or {}

    def resolve(expr):
        if isinstance(expr, str) and (m := re.fullmatch(r"\$\{([\w.]+)\}", expr)):
            value = params
            for part in m[1].split("."):
                value = value.get(part) if isinstance(value, dict) else None
            return value or []
        return expr

    writer: dict[str, str] = {}
    deps: dict[str, list[str]] = {}
    items: dict[str, int] = {}
    for name, stage in (spec.get("stages") or {}).items():
        body = stage.get("do", stage)
        items[name] = len(resolve(stage["foreach"])) if "foreach" in stage else 1
        if items[name] == 0:
            continue
        for kind in ("outs", "metrics", "plots"):
            for out in body.get(kind, []) or []:
                path = next(iter(out)) if isinstance(out, dict) else out
                writer[re.sub(r"\$\{item[^}]*\}", "*", path)] = name
        deps[name] = [re.sub(r"\$\{item[^}]*\}", "*", d) for d in body.get("deps", []) or [] if isinstance(d, str)]

    def writers_of(path: str) -> set[str]:
        found = set()
        for out, name in writer.items():
            pattern = re.escape(out).replace(r"\*", "[^/]+")
            if re.fullmatch(pattern, path) or re.match(pattern + "/", path) or re.match(re.escape(path) + "/", out):
                found.add(name)
        return found

    graph = {name: {w for d in ds for w in writers_of(d) if w != name} for name, ds in deps.items()}
    return graph, dict(writer), items


def upstream(graph: dict[str, set[str]], stage: str) -> list[str]:
    seen, todo = set(), [stage]
    while todo:
        s = todo.pop()
        if s not in seen:
            seen.add(s)
            todo += sorted(graph.get(s, ()))
    order = list(graph)  # dvc.yaml's order is a topological one
    return sorted(seen, key=order.index)


STAGE_TIME = "benchmarks/stage_time.json"


def gen_claim_costs(src: Sources, claims_file: str = DEFAULT_CLAIMS, *_: str) -> str:
    """Per claim: the command that recomputes it, the stages it needs, their measured time and memory
    (``benchmarks/stage_time.json`` where measured; otherwise the full rebuild's, an upper bound)."""
    from redditess.claims import load_claims, metric_stems

    claims = load_claims(src.path(claims_file))
    graph, writer, items = stage_graph(src)
    rt = repro_time(src)
    total, peak = rt["dvc-repro"]
    measured = None
    if (src.root / STAGE_TIME).exists():
        d = src.json(STAGE_TIME)
        measured = {}
        for row in d["stages"]:
            base = row["stage"].split("@", 1)[0]
            t, m = measured.get(base, (0.0, 0.0))
            measured[base] = (t + row["seconds"], max(m, row["peak_rss_gib"]))

    def stage_of(stem: str) -> str:
        # a stem's file is metrics/<stem>.json, or metrics/<stem>/<i>.json per replicate; an output may be a folder above it
        for path in (f"metrics/{stem}.json", f"metrics/{stem}/0.json"):
            for out, name in writer.items():
                pattern = re.escape(out.rstrip("/")).replace(r"\*", "[^/]+")
                if re.fullmatch(pattern, path) or re.match(pattern + "/", path):
                    return name
        raise InputError(f"{claims_file}: no stage of dvc.yaml writes metrics/{stem} (a claim reads it)")

    order = list(graph)
    rows = []
    for c in claims:
        targets = sorted({stage_of(s) for s in metric_stems([c])}, key=order.index)
        needed = sorted({s for t in targets for s in upstream(graph, t)}, key=order.index)
        names = ", ".join(f"{s} ×{items[s]}" if items[s] > 1 else s for s in needed)
        if measured is not None and all(s in measured for s in needed):
            cost = (f"{duration(sum(measured[s][0] for s in needed))}, peak "
                    f"{max(measured[s][1] for s in needed):.2f} GiB")
        else:
            cost = f"≤ {duration(total)}, ≤ {peak:.2f} GiB"
        rows.append(f"| {c.id} | `dvc repro {' '.join(targets)}` then `redditess claims` | {names} | {cost} |")
    if measured is not None:
        head = (f"Measured stage by stage by `{d['command']}` (commit {d['commit']}, {d['date']}, {d['machine']}; "
                f"from `{STAGE_TIME}`): the sum of the stages' wall-clock times and the largest peak RSS among them. ")
    else:
        head = (f"No stage-by-stage measurement is committed yet (`python benchmarks/stage_time.py --out {STAGE_TIME}` "
                f"after `dvc repro` writes one), so each claim shows the full rebuild's figures, an upper bound: "
                f"{duration(total)} and a peak RSS of {peak:.2f} GiB in the largest process, from `{rt['file']}` "
                f"(commit {rt['commit']}, {rt['machine']}). ")
    return "\n".join([head + "`dvc repro <stage>` runs the stage and whatever upstream of it is not up to date.", "",
                      "| claim | command | stages it needs | measured time and memory |", "|---|---|---|---|", *rows])


# --- the docs index -----------------------------------------------------------------------------

SMOKE_LINE = re.compile(r"^(?P<status>ok|FAIL)\s+(?P<check>\S+)\s+(?P<secs>[\d.]+)s\s+(?P<detail>.*)$")


def gen_docker_smoke(src: Sources, rel: str = "benchmarks/docker_smoke.txt", *_: str) -> str:
    """The checks of a recorded `docker/smoke.sh --record` run, one row each, under the run's own
    header lines (when, which commit, the machine and its load)."""
    lines = src.text(rel).splitlines()
    head = [line.lstrip("# ").strip() for line in lines if line.startswith("#")]
    rows = [m for line in lines if (m := SMOKE_LINE.match(line))]
    if not head or not rows:
        raise InputError(f"{rel}: expected '# docker/smoke.sh ...' header lines and 'ok|FAIL <check> <n>s <detail>' lines")
    table = [f"| {m['check']} | {m['status']} | {duration(float(m['secs']))} | {m['detail'].replace('|', '/')} |" for m in rows]
    return "\n".join([f"From `{rel}` ({'; '.join(head)}):", "", "| check | result | time | detail |", "|---|---|---:|---|",
                      *table])


def gen_docs_index(src: Sources, *_: str) -> str:
    folder = src.path("docs")
    pages = sorted((p.name for p in folder.glob("*.md")), key=lambda n: (list(PAGES).index(n) if n in PAGES else len(PAGES), n))
    rows = []
    for name in pages:
        title = next((line.lstrip("# ").strip() for line in (folder / name).read_text(encoding="utf-8").splitlines()
                      if line.startswith("# ")), name)
        rows.append(f"| [{title}](docs/{name}) | {PAGES.get(name, '')} |")
    return "\n".join(["| page | what it holds |", "|---|---|", *rows])


GENERATORS: dict[str, Callable[..., str]] = {
    "claims": gen_claims, "claims-count": gen_claims_count, "repro-wall": gen_repro_wall, "failures": gen_failures, "claim-costs": gen_claim_costs,
    "repro-time": gen_repro_time, "repro-stages": gen_repro_stages, "sizes": gen_sizes, "metric": gen_metric,
    "pii": gen_pii, "threads-scale": gen_threads_scale, "judge-throughput": gen_judge_throughput,
    "dump-ingest": gen_dump_ingest, "paper-scale-cpu": gen_paper_scale_cpu, "paper-scale-gpu": gen_paper_scale_gpu,
    "docs-index": gen_docs_index, "docker-smoke": gen_docker_smoke,
}


# --- pages --------------------------------------------------------------------------------------

def pages(root: Path) -> list[Path]:
    """README.md and every docs/*.md, relative to ``root``."""
    root = Path(root)
    return [Path("README.md")] + sorted(p.relative_to(root) for p in (root / "docs").glob("*.md"))


def render_page(text: str, src: Sources, where: str) -> str:
    """``text`` with every generated block rewritten from the files under ``src.root``."""

    def replace(m: re.Match) -> str:
        spec = m["spec"].split()
        line = text.count("\n", 0, m.start()) + 1
        if not spec or spec[0] not in GENERATORS:
            raise InputError(f"{where}:{line}: unknown generated block {m['spec']!r} (known: {', '.join(sorted(GENERATORS))})")
        src.block = f"{m['spec']} ({where}:{line})"
        out = GENERATORS[spec[0]](src, *spec[1:])
        body = f"\n{out.strip()}\n" if m["body"].startswith("\n") or "\n" in out else out
        return f"<!-- gen: {m['spec']} -->{body}<!-- /gen -->"

    return BLOCK.sub(replace, text)


def render(root: Path) -> dict[Path, str]:
    """Every page (relative path -> its text with fresh blocks), read from the files under ``root``."""
    root = Path(root)
    src = Sources(root)
    out = {}
    for rel in pages(root):
        if (root / rel).exists():
            out[rel] = render_page((root / rel).read_text(encoding="utf-8"), src, rel.as_posix())
    return out


def stale(root: Path) -> list[str]:
    """``page:line: block`` for every block whose text differs from what the files give."""
    root = Path(root)
    found = []
    for rel, fresh in render(root).items():
        current = (root / rel).read_text(encoding="utf-8")
        if current == fresh:
            continue
        now = {(m["spec"], m["body"].strip()) for m in BLOCK.finditer(current)}
        here = [f"{rel.as_posix()}: block '{m['spec']}' differs from its files" for m in BLOCK.finditer(fresh)
                if (m["spec"], m["body"].strip()) not in now]
        found += here or [f"{rel.as_posix()}: differs from its files (whitespace around a block)"]
    return found


def write(root: Path) -> list[Path]:
    """Rewrite every page whose blocks changed; return the pages written."""
    from redditess.io import write_text

    root = Path(root)
    changed = []
    for rel, fresh in render(root).items():
        if (root / rel).read_text(encoding="utf-8") != fresh:
            write_text(root / rel, fresh)
            changed.append(rel)
    return changed
