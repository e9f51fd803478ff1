"""Stage collect: raw Reddit records (Pushshift format) from the configured source.

    dvc repro collect        # or: python stages/collect.py

Sources: ``demo`` (the seeded simulator), ``dump`` (RS_/RC_ files, streamed), ``praw`` (live
listings, or rehydration of published ids with ``collect.praw.ids_file``). Ids in ``takedown.txt``
are removed before anything is written. Outputs ``data/raw/`` (RS.ndjson submissions, RC.ndjson
comments, both sorted by id; truth.jsonl, the demo simulator's hidden truth, empty for real
sources; report.json, the line accounting), ``data/dumps_manifest.json`` (path, size and SHA-256
of every dump file read, checked against ``collect.dump.sha256sums`` when set; empty for other
sources) and ``metrics/collect.json``. ``data/raw`` names no file, so a renamed dump with the same
content leaves it unchanged. Every record is
minimised, its author pseudonymised (salt from ``$REDDITESS_SALT``) and its text scrubbed of contact
details before it is written (see ``redditess.privacy``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from redditess.config import load_params
from redditess.io import atomic_path, dumps, write_json, write_metrics
from redditess.privacy import anonymize, salt_from_env
from redditess.runtime import stage
from redditess.sources import demo, dump, live, manifest
from redditess.takedown import load_takedown, removed_comments

RAW = Path("data/raw")


def _write(path: Path, rows: Iterable[dict], drop: set[str], salt: str, scrub_pii: bool) -> tuple[int, int]:
    """Write the records not taken down, each minimised, pseudonymised and scrubbed."""
    kept = dropped = 0
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            if r["id"] in drop:
                dropped += 1
                continue
            fh.write(dumps(anonymize(r, salt, scrub_pii)) + "\n")
            kept += 1
    return kept, dropped


@stage
def main() -> None:
    params = load_params()
    cfg = params.collect
    takedown = load_takedown("takedown.txt")
    salt = salt_from_env(cfg.salt_env, cfg.source)
    report: dict = {"source": cfg.source}
    counts: dict[str, int] = {}
    truth: list[dict] = []
    files: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="redditess-collect-") as scratch:
        if cfg.source == "dump":
            files = manifest.build_manifest(dump.resolve_paths(cfg.dump.paths), Path(cfg.dump.root))
            if cfg.dump.sha256sums:
                manifest.verify(files, Path(cfg.dump.sha256sums))
            store = dump.RecordStore(Path(scratch) / "records.sqlite")
            stats = dump.read_dumps(cfg.dump, cfg.strict, store)
            counts = {f"lines_{k}": v for k, v in sorted(stats.lines.items())}
            report["malformed_examples"] = stats.malformed_examples

            def submissions() -> Iterator[dict]:
                return store.records("submission")

            def comments() -> Iterator[dict]:
                return store.records("comment")
        else:
            if cfg.source == "demo":
                out = demo.simulate(cfg.demo, params.seed)
                subs, coms, truth = out.submissions, out.comments, out.truth
            elif cfg.praw.ids_file:
                subs, coms, status = live.rehydrate(cfg.praw, params.seed)
                counts = {f"rehydrate_{k}": v for k, v in sorted(status.items())}
            else:
                subs, coms = live.collect_live(cfg.praw, params.seed)
            subs = sorted(subs, key=lambda r: r["id"])
            coms = sorted(coms, key=lambda r: r["id"])

            def submissions() -> Iterator[dict]:
                return iter(subs)

            def comments() -> Iterator[dict]:
                return iter(coms)

        gone = removed_comments(comments(), takedown)
        with atomic_path(RAW) as tmp:
            tmp.mkdir()
            n_subs, td_subs = _write(tmp / "RS.ndjson", submissions(), takedown, salt, cfg.scrub_pii)
            n_coms, td_coms = _write(tmp / "RC.ndjson", comments(), gone, salt, cfg.scrub_pii)
            truth = [t for t in truth if t["comment_id"] not in gone and t["post_id"] not in takedown]
            (tmp / "truth.jsonl").write_text("".join(dumps(t) + "\n" for t in sorted(truth, key=lambda t: t["comment_id"])),
                                             encoding="utf-8")
            report["counts"] = {"submissions": n_subs, "comments": n_coms, "takedown_submissions": td_subs,
                                "takedown_comments": td_coms, **counts}
            (tmp / "report.json").write_text(dumps(report) + "\n", encoding="utf-8")
    write_json("data/dumps_manifest.json", files)
    write_metrics("metrics/collect.json", report["counts"])


if __name__ == "__main__":
    main()
