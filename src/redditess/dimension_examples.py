"""The labelled replies the offline dimension tagger is calibrated and measured on.

``human/dimensions_labeled.tsv`` (annotation guide: ``human/dimensions_guide.md``) holds support
replies written for redditess in the style of r/MentalHealthSupport comments, none copied from a
real thread, each with every support dimension and EPITOME mechanism it shows. The ``calibration``
rows tune each tag's similarity threshold; the ``evaluation`` rows, never seen in calibration,
measure the tagger (precision, recall, AUC of the continuous score against a word-count baseline).
None of them is an exemplar the tagger compares against.
"""

from __future__ import annotations

from pathlib import Path

from redditess.runtime import InputError

COLUMNS = ["id", "split", "tags", "text"]
SPLITS = ("calibration", "evaluation")
Example = tuple[str, frozenset[str]]


def load_labeled(path: str | Path, tags: tuple[str, ...]) -> dict[str, list[Example]]:
    """``{split: [(text, tags), ...]}`` from the TSV at ``path``; a malformed line stops with its
    file and line number."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"dimensions.labeled: {path} not found") from None
    out: dict[str, list[Example]] = {s: [] for s in SPLITS}
    seen: set[str] = set()
    header = None
    for i, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if header is None:
            if cells != COLUMNS:
                raise InputError(f"{path}:{i}: header must be {'<TAB>'.join(COLUMNS)}, got {line[:80]!r}")
            header = cells
            continue
        if len(cells) != len(COLUMNS):
            raise InputError(f"{path}:{i}: expected {len(COLUMNS)} tab-separated cells, got {len(cells)}")
        rid, split, tag_cell, text = (c.strip() for c in cells)
        if rid in seen:
            raise InputError(f"{path}:{i}: duplicate id {rid!r}")
        seen.add(rid)
        if split not in SPLITS:
            raise InputError(f"{path}:{i}: split must be one of {list(SPLITS)}, got {split!r}")
        named = frozenset() if tag_cell == "-" else frozenset(t.strip() for t in tag_cell.split(","))
        unknown = sorted(named - set(tags))
        if unknown or not text:
            raise InputError(f"{path}:{i}: " + (f"unknown tags {unknown} (known: {list(tags)})" if unknown else "empty text"))
        out[split].append((text, named))
    if header is None or not all(out.values()):
        raise InputError(f"{path}: needs rows of both splits {list(SPLITS)}")
    return out
