"""``redditess``: the artifact's small command line.

    redditess claims              # check the profile's artifact/claims/*.yaml against metrics/ (exit 1 if any fails)
    redditess claims --compact    # the reviewer's table (claim, paper, ours, test, baseline, verdict), as in README.md
    redditess metrics             # the metrics, one markdown table per stage
    redditess docs                # regenerate every figure in README.md and docs/*.md from the committed files
    redditess docs --check        # exit 1 naming each generated block that disagrees with its files
    redditess archive --out DIR   # the reviewer bundle: DVC cache of every output, dvc.lock, SHA256SUMS, ARCHIVE.md
    redditess profile paper       # set profiles/paper.yaml's values in params.yaml in place (validated)
    redditess profile default     # every params key back to its documented default
    redditess preflight           # what this machine offers the pipeline (Docker entry point)
    redditess annotate export     # stratified sample sheet + offline HTML form for human annotators
    redditess annotate import --annotator NAME filled.csv   # into human/NAME.csv
    redditess takedown apply      # drop taken-down units from annotation exports and human sheets
    redditess takedown verify     # search outputs, DVC cache and directory remotes (exit 1 on a hit)
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
from pathlib import Path

from redditess.config import ParamsError, load_params
from redditess.runtime import InputError


def cmd_claims(args) -> int:
    from redditess.claims import (check, default_claims_file, load_claims, load_scope, missing_outputs, pipeline_root,
                                  table, verdict_table)

    claims_file = Path(args.claims) if args.claims else default_claims_file(load_params())
    claims = load_claims(claims_file)
    root = pipeline_root(claims_file)
    args.metrics = args.metrics or str(root / "metrics")
    args.lock = args.lock or str(root / "dvc.lock")
    results = check(claims, Path(args.metrics), load_scope(claims_file))
    print(f"claims: {claims_file}  metrics: {args.metrics}/")
    report = verdict_table(results) if args.compact else table(results)
    print(report)
    absent, total = missing_outputs(Path(args.lock))
    if absent:
        print(f"note: {len(absent)} of {total} outputs in {args.lock} are not in this workspace (e.g. {', '.join(absent[:3])}): "
              "the table reads the committed metrics; `dvc pull` fetches data and models", file=sys.stderr)
    if args.output:
        from redditess.io import write_text

        write_text(args.output, "# Claims check\n\n" + report + "\n")
    return 0 if all(r.status == "reproduced" for r in results) else 1


def cmd_metrics(args) -> int:
    """One narrow table per metrics file (stage), instead of `dvc metrics show`'s single wide row."""
    import json

    def flat(obj, prefix=""):
        for key, value in sorted(obj.items()):
            if isinstance(value, dict):
                yield from flat(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value

    root = Path(args.metrics)
    files = sorted(root.rglob("*.json"))  # the model stages' per-replicate files too: metrics/sft/0.json
    if not files:
        raise InputError(f"{args.metrics}/: no metrics files (they are committed to git; `dvc repro` rebuilds them)")
    parts = []
    for path in files:
        rows = [f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |"
                for k, v in flat(json.loads(path.read_text(encoding="utf-8")))]
        parts.append("\n".join([f"## {path.relative_to(root).with_suffix('').as_posix()}", "", "| metric | value |", "|---|---:|", *rows]))
    report = "\n\n".join(parts)
    print(report)
    if args.output:
        from redditess.io import write_text

        write_text(args.output, "# Metrics\n\n" + report + "\n")
    return 0


def cmd_docs(args) -> int:
    from redditess.docs import stale, write

    root = Path(args.root)
    if args.check:
        found = stale(root)
        for line in found:
            print(line)
        if found:
            print(f"{len(found)} generated block(s) disagree with their files: run `redditess docs`", file=sys.stderr)
        return 1 if found else 0
    changed = write(root)
    print(f"{len(changed)} page(s) rewritten from the committed files" + (f": {', '.join(map(str, changed))}" if changed else ""))
    return 0


def cmd_archive(args) -> int:
    from redditess.archive import build

    summary = build(Path(args.root), Path(args.out), [Path(p) for p in args.image], tar=args.tar)
    print(summary)
    return 0


def cmd_profile(args) -> int:
    from redditess.profiles import DEFAULT, apply_profile

    changed = apply_profile(args.name)
    source = "their documented defaults" if args.name == DEFAULT else f"profiles/{args.name}.yaml"
    print(f"params.yaml: {len(changed)} values set from {source}, comments and other keys kept; "
          f"`dvc params diff` shows them, `redditess profile {DEFAULT}` reverts them")
    return 0


def cmd_pipeline(args) -> int:
    from redditess.subpipeline import write_pipeline

    written = write_pipeline(Path(args.folder))
    print(f"{args.folder}: wrote {', '.join(str(p) for p in written)}; `dvc repro {args.folder}/dvc.yaml` runs it")
    return 0


def cmd_annotate_export(args) -> int:
    from redditess.human import SHEET_COLUMNS, form_html, sample_for_annotation
    from redditess.io import read_table, write_text
    from redditess.runtime import derive_seed

    params = load_params()
    units = read_table("data/threads.parquet", ["comment_id", "post_title", "post_body", "comment_body"])
    ensemble = read_table("data/labels/ensemble.parquet", ["comment_id", "label", "golden"])
    sample = sample_for_annotation(units, ensemble, args.n, derive_seed(params.seed, "annotate"))
    out = Path(args.out)
    sheet = sample.assign(**{c: "" for c in SHEET_COLUMNS[1:]})
    write_text(out / "sample.csv", sheet.to_csv(index=False, lineterminator="\n"))
    write_text(out / "form.html", form_html(sample))
    print(f"{len(sample)} comments -> {out / 'sample.csv'} and {out / 'form.html'} (open it in a browser)")
    return 0


def cmd_annotate_import(args) -> int:
    import re

    import pandas as pd

    from redditess.human import read_sheet
    from redditess.io import write_text

    if not re.fullmatch(r"[A-Za-z0-9_-]+", args.annotator):
        raise InputError(f"--annotator must be letters, digits, _ or -, got {args.annotator!r}")
    sample = Path(args.sample)
    known = set(pd.read_csv(sample, dtype=str).comment_id) if sample.exists() else None
    sheet = read_sheet(Path(args.sheet), known).sort_values("comment_id")
    target = Path(args.human) / f"{args.annotator}.csv"
    write_text(target, sheet.to_csv(index=False, lineterminator="\n"))
    print(f"{len(sheet)} annotations by {args.annotator} -> {target} (commit it; dvc repro agreement reports them)")
    return 0


def cmd_takedown_apply(args) -> int:
    from redditess.purge import apply_to_sheets, removed_ids
    from redditess.takedown import load_takedown

    ids = removed_ids(load_takedown(args.takedown))
    dropped = apply_to_sheets(ids, [Path(f) for f in args.folders])
    for path, n in sorted(dropped.items()):
        print(f"{path}: {n} rows of taken-down units removed")
    print(f"{len(ids)} ids taken down; {sum(dropped.values())} sheet rows removed. Next: dvc repro, dvc push, "
          f"dvc gc --workspace --cloud, redditess takedown verify")
    return 0


def cmd_takedown_verify(args) -> int:
    from redditess.purge import OUTPUT_ROOTS, directory_remotes, verify
    from redditess.takedown import load_takedown

    ids = load_takedown(args.takedown)
    if not ids:
        print(f"{args.takedown} lists no ids: nothing to verify")
        return 0
    roots = [Path(r) for r in OUTPUT_ROOTS] + directory_remotes() + [Path(r) for r in args.also]
    res = verify(ids, roots)
    for hit in res.hits:
        print(hit)
    print(f"{len(ids)} taken-down ids, {res.files} files searched ({', '.join(str(r) for r in roots if r.exists())}): "
          f"{len(res.hits)} still hold them")
    return 1 if res.hits else 0


def cmd_preflight(args) -> int:
    import torch

    params = load_params()
    rows = [("python", platform.python_version()), ("torch", torch.__version__),
            ("cuda available", str(torch.cuda.is_available())),
            ("device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"),
            ("collect.source", params.collect.source), ("sft.base_model", params.sft.base_model),
            ("classifier.base_model", params.classifier.base_model)]
    # Which secrets the run will find (names only, never values): `docker run -e NAME` passes them.
    secrets = ["HF_TOKEN", params.collect.salt_env] + [j.api_key_env for j in params.label.judges]
    rows.append(("secrets set", ", ".join(s for s in secrets if os.environ.get(s)) or "none"))
    rows.append(("secrets not set", ", ".join(s for s in secrets if not os.environ.get(s)) or "none"))
    for name, value in rows:
        print(f"{name:>22}: {value}")
    if params.sft.base_model != "tiny" and not torch.cuda.is_available():
        print("warning: the paper profile's models need a GPU; this run will be very slow on CPU", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="redditess", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("claims", help="check the artifact's claims against the produced metrics")
    p.add_argument("--claims", help="claims file (default: the active profile's, artifact/claims/<profile>.yaml)")
    p.add_argument("--metrics", help="metrics folder (default: metrics/ of the claims file's `pipeline:` folder)")
    p.add_argument("--output", help="also write the table as markdown here")
    p.add_argument("--lock", help="dvc.lock to name absent outputs from (default: the `pipeline:` folder's)")
    p.add_argument("--compact", action="store_true", help="the reviewer's table: claim, paper, ours, test, baseline, verdict")
    p.set_defaults(func=cmd_claims)
    p = sub.add_parser("docs", help="regenerate every figure in README.md and docs/*.md from the committed files")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 naming each stale block")
    p.add_argument("--root", default=".")
    p.set_defaults(func=cmd_docs)
    p = sub.add_parser("archive", help="write the reviewer bundle (DVC cache of every output, dvc.lock, SHA256SUMS, ARCHIVE.md)")
    p.add_argument("--out", required=True, help="the bundle's folder (must not exist, or be empty)")
    p.add_argument("--image", action="append", default=[], help="a `docker save` tarball to include (repeatable)")
    p.add_argument("--tar", action="store_true", help="also pack the bundle into one <out>.tar for upload")
    p.add_argument("--root", default=".")
    p.set_defaults(func=cmd_archive)
    p = sub.add_parser("metrics", help="the metrics as one readable table per stage (markdown)")
    p.add_argument("--metrics", default="metrics")
    p.add_argument("--output", help="also write the tables here")
    p.set_defaults(func=cmd_metrics)
    p = sub.add_parser("profile", help="set profiles/<name>.yaml's values in params.yaml ('default' reverts)")
    p.add_argument("name")
    p.set_defaults(func=cmd_profile)
    p = sub.add_parser("pipeline", help="write a folder pipeline (real/): the main dvc.yaml and params.yaml on its profile")
    p.add_argument("folder")
    p.set_defaults(func=cmd_pipeline)
    p = sub.add_parser("annotate", help="human validation round trip")
    ann = p.add_subparsers(dest="action", required=True)
    q = ann.add_parser("export", help="write a stratified sample sheet (CSV) and an offline HTML form")
    q.add_argument("--n", type=int, default=120, help="comments to sample")
    q.add_argument("--out", default="annotation")
    q.set_defaults(func=cmd_annotate_export)
    q = ann.add_parser("import", help="validate a filled sheet into human/<annotator>.csv")
    q.add_argument("--annotator", required=True)
    q.add_argument("--sample", default="annotation/sample.csv", help="the exported sample (ids are checked against it)")
    q.add_argument("--human", default="human")
    q.add_argument("sheet")
    q.set_defaults(func=cmd_annotate_import)
    p = sub.add_parser("takedown", help="takedowns beyond the pipeline: sheets, DVC cache, remotes")
    td = p.add_subparsers(dest="action", required=True)
    q = td.add_parser("apply", help="drop taken-down units from annotation exports and human sheets (before dvc repro)")
    q.add_argument("--takedown", default="takedown.txt")
    q.add_argument("--folders", nargs="*", default=["annotation", "human"])
    q.set_defaults(func=cmd_takedown_apply)
    q = td.add_parser("verify", help="search outputs, the DVC cache and directory remotes for taken-down ids and texts")
    q.add_argument("--takedown", default="takedown.txt")
    q.add_argument("--also", nargs="*", default=[], help="more folders to search (e.g. a mounted remote)")
    q.set_defaults(func=cmd_takedown_verify)
    p = sub.add_parser("preflight", help="print what this machine offers the pipeline")
    p.set_defaults(func=cmd_preflight)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (InputError, ParamsError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
