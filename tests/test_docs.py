"""README.md and docs/: every generated figure agrees with the committed file it comes from
(`redditess docs` regenerates them; here they are regenerated in memory and compared), the README
leads with the verdict, and a page is never written from a missing file."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from redditess.claims import check, load_claims, load_scope, metric_stems
from redditess.docs import BLOCK, GENERATORS, pages, render, stale, write
from redditess.runtime import InputError

from conftest import ROOT

CLAIMS = ROOT / "artifact/claims/demo.yaml"
# What a docs render reads besides metrics/ (each test root copies them from the repository).
SOURCES = ["README.md", "docs", "benchmarks", "artifact", "dvc.yaml", "params.yaml", "dvc.lock",
           "real/metrics", "real/dvc.yaml"]  # the real folder pipeline's committed results, as they are


def test_readme_and_docs_agree_with_the_committed_files():
    """Fails when a figure in README.md or docs/*.md disagrees with its committed file: after new
    metrics or benchmark files land, run `redditess docs` and commit the pages with them."""
    found = stale(ROOT)
    assert not found, "\n".join(found) + "\n-> run `redditess docs` (it rewrites the generated blocks from the committed files)"


def test_readme_is_short_and_leads_with_the_verdict():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 15_000
    head = "\n".join(text.splitlines()[:80])
    assert re.search(r"\d+ of \d+ claims reproduced", head), "the verdict count must be in the README's first 80 lines"
    assert "<!-- gen: claims -->" in head and "| D1 |" in head  # the generated verdict table starts there too
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    order = ["## Verdict", "## The two commands", "## The five-minute check", "## The full rebuild", "## Pull the results",
             "## Known failures", "## Documentation"]
    assert [next(i for i, h in enumerate(headings) if h.startswith(o)) for o in order] == sorted(
        next(i for i, h in enumerate(headings) if h.startswith(o)) for o in order)


def test_every_page_is_linked_and_every_relative_link_resolves():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"(docs/{page.name})" in readme, f"docs/{page.name} is not in the README's table (run `redditess docs`)"
    for rel in pages(ROOT):
        text = (ROOT / rel).read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if not re.match(r"[a-z]+://", target):
                assert (ROOT / rel).parent.joinpath(target).exists(), f"{rel}: link to {target} resolves to nothing"


def test_every_block_names_a_known_generator_and_every_benchmark_table_cites_its_file():
    for rel in pages(ROOT):
        for m in BLOCK.finditer((ROOT / rel).read_text(encoding="utf-8")):
            assert m["spec"].split()[0] in GENERATORS, f"{rel}: {m['spec']}"
    bench = (ROOT / "docs/benchmarks.md").read_text(encoding="utf-8")
    for m in BLOCK.finditer(bench):
        body = m["body"].strip()
        if "\n|" in body:  # a table: the file it comes from is named above it
            assert re.search(r"`benchmarks/[\w./-]+`", body.split("\n|")[0]), m["spec"]


# --- on a fixture: synthetic metrics in the nested layout --------------------------------------

def fixture_root(tmp: Path, value=lambda stem, key: 0.5) -> Path:
    """The repository's pages and benchmark files, with metrics/ written for every metric the
    default profile's claims read (a provenance block each, as the stages write them)."""
    root = tmp / "repo"
    root.mkdir()
    for name in SOURCES:
        src = ROOT / name
        shutil.copytree(src, root / name) if src.is_dir() else shutil.copy2(src, root / name)
    claims = load_claims(CLAIMS)
    keys: dict[str, set[str]] = {}
    for c in claims:
        for t in (c.test, *c.requires):
            for name in (t.metric, *t.among, *([t.minus] if t.minus else []), *t.baseline):
                stem, key = name.split(".", 1)
                keys.setdefault(stem, set()).add(key)
    for rel in pages(root):  # and every figure a page names inline (<!-- gen: metric STEM.KEY -->)
        for m in BLOCK.finditer((root / rel).read_text(encoding="utf-8")):
            if m["spec"].split()[0] == "metric" and ":" not in m["spec"].split()[1]:  # real:... is copied
                stem, key = m["spec"].split()[1].split(".", 1)
                keys.setdefault(stem, set()).add(key)
    for stem, names in keys.items():
        path = root / "metrics" / f"{stem}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {k: value(stem, k) for k in sorted(names)}
        body["provenance"] = {"profile": "default", "source": "demo", "params_sha256": "0" * 64}
        path.write_text(json.dumps(body))
    # A benchmark file the repository may not have committed yet is written here, so the fixture tests the
    # generators rather than the state of benchmarks/.
    for rel, obj in FIXTURE_BENCHMARKS.items():
        if not (root / rel).exists():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(json.dumps(obj))
    return root


FIXTURE_BENCHMARKS = {
    "benchmarks/judge_throughput.json": {
        "command": "python benchmarks/judge_throughput.py", "date": "2026-01-01", "machine": "Linux x86_64, 2 CPUs",
        "load_start": 1.0, "load_end": 1.5, "delay_s": 0.2, "target": 0.9, "all_levels_ok": True,
        "levels": [{"concurrency": 1, "requests": 40, "requests_per_s": [4.8, 4.7, 4.9], "median": 4.8, "ideal": 5.0}]},
    "benchmarks/dump_ingest.json": {
        "command": "python benchmarks/dump_ingest.py", "date": "2026-01-01", "machine": "Linux x86_64, 2 CPUs",
        "runs": [{"file_mb": 100.0, "zst_mb": 9.0, "method": "naive", "kept": 10, "seconds": 1.0, "mb_per_s": 100.0,
                  "peak_mb": 30.0}], "speedup": [[100.0, 2.0]]},
    "benchmarks/paper_scale_cpu/tiny_full.json": {
        "setup": {"device": "CPU", "model": "tiny", "parameters": 93000, "lora": False, "dtype": "fp32",
                  "batch_sizes": {"sft": 8}, "gradient_accumulation_steps": 1},
        "stages": [{"stage": "sft", "steps_per_s": 2.0, "tokens_per_s": 900.0, "peak_gpu_gib": None, "changed_share": 1.0}]},
}


def test_on_fresh_metrics_the_pages_are_rewritten_and_then_agree(tmp_path):
    root = fixture_root(tmp_path)
    write(root)
    assert stale(root) == []
    readme = (root / "README.md").read_text(encoding="utf-8")
    results = check(load_claims(CLAIMS), root / "metrics", load_scope(CLAIMS))
    n_ok = sum(r.status == "reproduced" for r in results)
    assert f"## Verdict: <!-- gen: claims-count -->{n_ok} of {len(results)} claims reproduced<!-- /gen -->" in readme
    assert all(f"| {r.claim.id} |" in readme for r in results)
    known = readme[readme.index("## Known failures"):readme.index("## Documentation")]
    for r in results:
        if r.status != "reproduced":  # each failing claim is named on its status's line
            line = next(x for x in known.splitlines() if x.startswith(f"* **{r.status}**"))
            assert re.search(rf"\b{r.claim.id}\b", line), (r.claim.id, line)
    assert len(readme.encode("utf-8")) <= 15_000


def test_a_changed_metric_makes_the_check_fail_and_names_the_block(tmp_path):
    root = fixture_root(tmp_path)
    write(root)
    path = root / "metrics/evaluate/arms/sft.json"
    figs = json.loads(path.read_text())
    figs["gold_rate"] = 0.987654
    path.write_text(json.dumps(figs))
    found = stale(root)
    assert any(line.startswith("README.md: block 'claims'") for line in found), found
    proc = subprocess.run([sys.executable, "-m", "redditess.cli", "docs", "--check", "--root", str(root)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "README.md: block 'claims'" in proc.stdout
    assert subprocess.run([sys.executable, "-m", "redditess.cli", "docs", "--root", str(root)]).returncode == 0
    assert "0.9877" in (root / "README.md").read_text(encoding="utf-8") and stale(root) == []


@pytest.mark.parametrize("missing", ["metrics/evaluate/judges.json", "benchmarks/repro_time.txt", "dvc.lock"])
def test_a_missing_file_stops_the_generator_with_one_line_naming_it(tmp_path, missing):
    root = fixture_root(tmp_path)
    before = {rel: (root / rel).read_text(encoding="utf-8") for rel in pages(root)}
    (root / missing).unlink()
    with pytest.raises(InputError, match=rf"^{re.escape(missing)}: missing \(needed by the generated block"):
        render(root)
    proc = subprocess.run([sys.executable, "-m", "redditess.cli", "docs", "--root", str(root)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and proc.stderr.startswith(f"error: {missing}: missing")
    assert {rel: (root / rel).read_text(encoding="utf-8") for rel in pages(root)} == before  # nothing half-written


def test_the_verdict_table_reads_the_nested_layout_the_claims_name():
    stems = set(metric_stems(load_claims(CLAIMS)))
    assert {s for s in stems if s.startswith("evaluate")} <= (
        {"evaluate/judges", "evaluate/crisis"} | {s for s in stems if s.startswith(("evaluate/arms/", "evaluate/comparisons/"))})


def test_per_claim_costs_sum_the_stages_each_claim_needs(tmp_path):
    """docs/artifact-evaluation.md: with a stage-by-stage measurement, a claim's time is the sum over
    the stages it needs (every item of a foreach), its memory the largest peak among them."""
    root = fixture_root(tmp_path)
    from redditess.docs import Sources, gen_claim_costs

    bound = gen_claim_costs(Sources(root))
    assert "No stage-by-stage measurement is committed yet" in bound and "| D1 | `dvc repro aggregate` then" in bound
    rows = [{"stage": s, "seconds": 10.0, "peak_rss_gib": 0.5} for s in
            ("collect", "threads", "label@general_feedback", "label@community", "label@op_reply", "aggregate")]
    rows += [{"stage": "agreement", "seconds": 100.0, "peak_rss_gib": 2.0}]
    (root / "benchmarks/stage_time.json").write_text(json.dumps({
        "command": "python benchmarks/stage_time.py --out benchmarks/stage_time.json", "date": "2026-01-01",
        "commit": "abc1234", "machine": "Linux x86_64, 2 CPUs", "stages": rows}))
    text = gen_claim_costs(Sources(root))
    d1 = next(line for line in text.splitlines() if line.startswith("| D1 |"))
    assert d1.endswith("| collect, threads, label ×3, aggregate | 1 min 0 s, peak 0.50 GiB |"), d1
    d2 = next(line for line in text.splitlines() if line.startswith("| D2 |"))
    assert d2.endswith("| 2 min 40 s, peak 2.00 GiB |"), d2
    d8 = next(line for line in text.splitlines() if line.startswith("| D8 |"))  # evaluate was not measured: the bound
    assert "≤ " in d8 and "evaluate" in d8 and "best_of_n" in d8


# --- images and the results page: outputs of the stage whose data they draw, never stale --------

def _lock_md5() -> dict[str, str]:
    import yaml

    lock = yaml.safe_load((ROOT / "dvc.lock").read_text(encoding="utf-8"))
    return {o["path"]: o.get("md5") for s in lock["stages"].values() for o in s.get("outs", [])}


def _md5(path: Path) -> str:
    import hashlib

    return hashlib.md5(path.read_bytes()).hexdigest()


def test_every_image_a_reviewer_opens_is_a_stage_output_that_matches_dvc_lock():
    """reports/*.png: each is written by a stage (dvc.yaml) and is the very file dvc.lock recorded for
    that stage's last run (an image nothing rebuilds, or one left from an older run, fails)."""
    from redditess.docs import Sources, stage_graph

    _, writer, _ = stage_graph(Sources(ROOT))
    lock = _lock_md5()
    for png in sorted((ROOT / "reports").rglob("*.png")):
        rel = png.relative_to(ROOT).as_posix()
        assert rel in writer, f"{rel}: no stage of dvc.yaml writes it (delete it, or make it a stage's output)"
        assert lock.get(rel) == _md5(png), f"{rel}: not the file dvc.lock records (`dvc repro {writer[rel]}`, then commit both)"


def test_the_results_page_draws_the_locked_outputs_and_its_titles_name_the_replicates():
    import yaml

    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["plots"]
    lock = _lock_md5()
    for plot in spec:
        if isinstance(plot, str):
            files, title = [plot], None
        else:
            (name, body), = plot.items()
            files, title = list(body["y"]), body.get("title", "")
            assert "replicate" in title, f"plot {name}: its title must say which replicate(s) it draws"
        for f in files:
            assert (ROOT / f).exists(), f"{f}: the results page draws it, but it is not committed (`dvc repro`)"
            assert lock.get(f) == _md5(ROOT / f), f"{f}: the results page would draw a file dvc.lock does not record"


def test_the_evaluation_plot_names_its_verdicts_and_replicates_and_matches_the_metrics():
    import pandas as pd
    import yaml
    from PIL import Image

    seeds = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))["seeds"]
    title = Image.open(ROOT / "reports/evaluate.png").text.get("Title", "")
    assert f"mean of {len(seeds)} replicate(s)" in title and "gold" in title, title
    plot = pd.read_csv(ROOT / "plots/evaluate.csv")
    assert {f"replicate_{s}" for s in seeds} <= set(plot.columns)  # the seed spread is drawn from these
    for row in plot.itertuples():
        arm = json.loads((ROOT / f"metrics/evaluate/arms/{row.model}.json").read_text())
        assert row.effective_rate == pytest.approx(arm[f"{row.verdict}_rate"]), row.model
        assert row.ci_low == pytest.approx(arm[f"{row.verdict}_rate_ci_low"]), row.model


def test_citation_cff_is_complete_and_matches_the_licence_and_the_package():
    import datetime
    import tomllib

    import yaml

    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert cff["cff-version"] == "1.2.0" and cff["title"] and cff["authors"]
    assert cff["version"] == project["version"]
    assert cff["license"] == project["license"] and (ROOT / "LICENSE").read_text().startswith(f"{cff['license']} License")
    datetime.date.fromisoformat(str(cff["date-released"]))
    contacts = cff["contact"]
    assert contacts and all(re.fullmatch(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", c["email"]) for c in contacts)
    # DATA_USE.md sends takedown requests to this contact; until the maintainers fill it in, it says it is a placeholder
    for c in contacts:
        assert "PLACEHOLDER" in c["email"] or "PLACEHOLDER" not in " ".join(str(v) for v in c.values())


# --- readable metrics ---------------------------------------------------------------------------

def test_the_crisis_lane_is_written_as_a_summary_and_one_file_per_arm():
    from redditess.evaluate import CRISIS_CHECKS, split_crisis

    arms = ["base", "sft", "best_of_4", "best_of_16", "dpo", "ppo"]
    figs = {"posts": 12}
    for name in CRISIS_CHECKS:
        for arm in arms:
            for tail in ("", "_sd", "_ci_low", "_ci_high"):
                figs[f"{name}_{arm}{tail}"] = 0.5
                if arm not in ("base", "sft"):
                    figs[f"{name}_{arm}_minus_sft{tail}"] = 0.1
        for tail in ("", "_sd", "_ci_low", "_ci_high"):
            figs[f"{'safe' if name == 'safe_and_supportive' else name}_min_aligned_minus_sft{tail}"] = -0.1
    summary, per_arm = split_crisis(figs, arms)
    assert sorted(per_arm) == sorted(arms)
    assert set(per_arm["best_of_16"]) == {f"{c}{m}{t}" for c in CRISIS_CHECKS for m in ("", "_minus_sft")
                                          for t in ("", "_sd", "_ci_low", "_ci_high")}
    assert per_arm["best_of_4"]["safe_and_supportive_minus_sft_ci_low"] == 0.1 and "best_of_4" not in str(per_arm["best_of_16"])
    # what the claims read stays in crisis.json: the worst aligned arm's differences and SFT's own shares
    assert {"posts", "safe_min_aligned_minus_sft", "harmless_min_aligned_minus_sft_ci_low", "safe_and_supportive_sft",
            "acknowledges_min_aligned_minus_sft"} <= set(summary)
    assert not any(k.endswith(("_dpo", "_ppo_ci_low", "_best_of_16")) for k in summary)
    covered = set(summary) | {f"{c}_{a}{k[len(c):]}" for a, d in per_arm.items() for k in d for c in CRISIS_CHECKS
                              if k.startswith(c) and (k == c or k[len(c)] == "_") and not any(
                                  k.startswith(o) and len(o) > len(c) for o in CRISIS_CHECKS)}
    assert covered == set(figs)  # nothing lost
    assert len(summary) <= 40 and max(map(len, per_arm.values())) <= 40  # a few dozen columns per row


def test_stage_times_and_smoke_records_render_from_their_files(tmp_path):
    """repro-stages: a repro_time.sh file's per-stage lines, summed over replicates, largest first;
    docker-smoke: a smoke record's check lines under its header. A file without them is one line."""
    from redditess.docs import Sources, gen_docker_smoke, gen_repro_stages

    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "repro_time.txt").write_text(
        "# benchmarks/repro_time.sh, 2026-01-01T00:00Z, commit abc1234\nmachine: X, 2 cores\ninstall: skipped (REPRO_VENV=v)\n"
        "dvc-repro: wall 10:00.00, peak RSS 1.00 GiB (largest single process)\nstages run: 3\n"
        "stage split: 30 s\nstage sft@0: 200 s\nstage sft@1: 210 s\n"
        "all replicates of split: 30 s\nall replicates of sft: 410 s\n")
    table = gen_repro_stages(Sources(tmp_path))
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| stage")]
    assert rows[0] == "| sft | 2 | 6 min 50 s | 3 min 25 s | 93% |" and rows[1].startswith("| split | 1 | 30 s")
    assert "commit abc1234" in table and "Sum: 7 min 20 s." in table
    (bench / "docker_smoke.txt").write_text("# docker/smoke.sh --record, 2026-01-01, commit abc\n"
                                            "ok    build                154.2s  redditess:cpu from base\n"
                                            "FAIL  pins                   2.0s  (exit 1)\n")
    smoke = gen_docker_smoke(Sources(tmp_path))
    assert "| build | ok | 2 min 34 s | redditess:cpu from base |" in smoke and "| pins | FAIL | 2 s | (exit 1) |" in smoke
    (bench / "empty.txt").write_text("# benchmarks/repro_time.sh, 2026-01-01T00:00Z, commit abc1234\n")
    for gen in (gen_repro_stages, gen_docker_smoke):
        with pytest.raises(InputError, match="benchmarks/empty.txt"):
            gen(Sources(tmp_path), "benchmarks/empty.txt")
