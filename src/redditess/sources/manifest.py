"""The dump files as pinned inputs: a manifest of each file's path (relative to ``collect.dump.root``),
size and SHA-256, written by collect next to its output, and a check against a published hash list.

The manifest is what a reader compares with the files they downloaded; the record data collect
writes (``data/raw``) never names a file, so renaming a dump with the same content leaves every
data-stage hash unchanged.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from redditess.runtime import InputError

BLOCK = 8 << 20
SUMS_LINE = re.compile(r"^(?P<hex>[0-9a-fA-F]{64}) [ *](?P<name>.+)$")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def build_manifest(files: list[Path], root: Path, workers: int = 1) -> list[dict]:
    """One entry per file (path relative to ``root``, size, sha256), sorted by path, hashing
    ``workers`` files at a time (hashlib releases the GIL). A file outside ``root`` stops collect:
    DVC watches ``root`` only, so a change there would go unnoticed."""
    from concurrent.futures import ThreadPoolExecutor

    root = root.resolve()
    full = [path.resolve() for path in files]
    for path, resolved in zip(files, full):
        if not resolved.is_relative_to(root):
            raise InputError(f"collect.dump.paths: {path} lies outside collect.dump.root ({root}); "
                             "DVC would not notice it change")
    with ThreadPoolExecutor(max(1, workers)) as pool:
        digests = list(pool.map(sha256_file, full))
    out = [{"path": f.relative_to(root).as_posix(), "size": f.stat().st_size, "sha256": d} for f, d in zip(full, digests)]
    return sorted(out, key=lambda e: e["path"])


def read_sums(path: Path) -> dict[str, str]:
    """``{file name: sha256}`` from a ``sha256sum``-format list (blank lines and # comments skipped)."""
    sums: dict[str, str] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"collect.dump.sha256sums: {path} not found") from None
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = SUMS_LINE.match(line.strip())
        if not m:
            raise InputError(f"{path}:{number}: not a sha256sum line ('<64 hex>  <file name>')")
        sums[Path(m["name"]).name] = m["hex"].lower()
    return sums


def verify(manifest: list[dict], sums_path: Path) -> None:
    """Stop at the first file the published list lacks or lists with another hash."""
    sums = read_sums(sums_path)
    for entry in manifest:
        name = Path(entry["path"]).name
        if name not in sums:
            raise InputError(f"{sums_path}: no hash listed for dump file {entry['path']}")
        if sums[name] != entry["sha256"]:
            raise InputError(f"{entry['path']}: SHA-256 {entry['sha256']} differs from {sums[name]} in {sums_path}")
