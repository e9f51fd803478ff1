"""``redditess archive``: the reviewer bundle, a self-contained copy of the default profile's results
ready for an archive with a DOI (Zenodo).

    redditess archive --out ../redditess-archive [--image redditess-cpu.tar] [--tar]

The bundle::

    dvc-remote/     the DVC cache of every output in dvc.lock (a DVC remote's layout: files/md5/..)
    dvc.lock        the content hashes the committed results and the remote were built with
    dvc.yaml params.yaml
    image/          the `docker save` tarball(s) given with --image
    ARCHIVE.md      what it is, which commit, and how a reviewer points DVC at it
    SHA256SUMS      `sha256sum -c SHA256SUMS` checks every other file

It refuses (one line) a workspace whose pipeline is not up to date, whose dvc.lock is not committed,
or whose params are another profile's: the bundle must be exactly what a clone of this commit's
dvc.lock asks for. A reviewer serves ``dvc-remote/`` from any static web server (or a local folder),
``dvc remote add -d --local archive <url>``, ``dvc pull``, and ``dvc repro`` runs nothing
(tests/test_reviewer.py does this over HTTP on 127.0.0.1).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
from pathlib import Path

import yaml

from redditess.runtime import InputError

REMOTE_NAME = "redditess-archive"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        raise InputError(f"{root}: git {' '.join(args)} failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}")
    return proc.stdout.strip()


def preconditions(root: Path) -> dict:
    """The commit, profile and date the bundle is of; stops on anything a reviewer's clone would not match."""
    lock = root / "dvc.lock"
    if not lock.exists():
        raise InputError(f"{lock}: missing (run `dvc repro` first: the bundle holds what dvc.lock records)")
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8")) or {}
    if params.get("profile", "default") != "default":
        raise InputError(f"params.yaml: profile {params.get('profile')!r} is active; the archive is the default profile's "
                         "(`redditess profile default`, then `dvc repro`)")
    commit = _git(root, "rev-parse", "HEAD")
    dirty = _git(root, "status", "--porcelain", "--", "dvc.lock", "dvc.yaml", "params.yaml")
    if dirty:
        raise InputError(f"{dirty.splitlines()[0].split()[-1]}: uncommitted changes (commit them: a reviewer's clone "
                         "must carry the dvc.lock the bundle was made from)")
    return {"commit": commit, "date": _git(root, "show", "-s", "--format=%cI", "HEAD"), "profile": "default"}


def push_outputs(root: Path, remote: Path) -> int:
    """Every cached output of the workspace into ``remote`` (a directory remote); returns how many objects were copied."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    with Repo(str(root), config={"remote": {REMOTE_NAME: {"url": str(remote)}}}) as repo:
        changed = repo.status()
        if changed:
            stage = sorted(changed)[0]
            raise InputError(f"dvc.yaml: stage {stage!r} is not up to date (`dvc status`); run `dvc repro` and commit "
                             "dvc.lock before archiving")
        try:
            return int(repo.push(remote=REMOTE_NAME))
        except DvcException as exc:
            raise InputError(f"dvc push into {remote} failed: {str(exc).splitlines()[0]} (is every output in .dvc/cache? "
                             "`dvc pull` or `dvc repro` first)") from None


def archive_md(meta: dict, outs: list[dict], objects: int, size: int, images: list[str]) -> str:
    rows = [f"| `{o['path']}` | `{o.get('md5', '')}` | {o.get('size', 0):,} | {o.get('nfiles', 1)} |" for o in outs]
    image_lines = ([f"* `image/{name}`: `docker load -i image/{name}`" for name in images] if images else
                   ["* no image tarball (build one: `docker build -f docker/Dockerfile.cpu -t redditess:cpu .` then "
                    "`docker save redditess:cpu -o redditess-cpu.tar`, and pass `--image redditess-cpu.tar`)"])
    return "\n".join([
        "# redditess: archived results of the default profile", "",
        f"Commit `{meta['commit']}` ({meta['date']}), profile `{meta['profile']}`: the DVC cache of every output its "
        f"`dvc.lock` records ({objects} objects, {size:,} bytes in `dvc-remote/`), so that a clone of that commit pulls "
        "the data and models the committed metrics were computed from, and `dvc repro` then runs nothing.", "",
        "## Check it", "", "```bash", "sha256sum -c SHA256SUMS", "```", "",
        "## Use it", "",
        "From a clone of the repository at the commit above:", "", "```bash",
        "dvc remote add -d --local archive /path/to/this/folder/dvc-remote   # or https://<host>/<path>/dvc-remote",
        "dvc pull                 # data and models, by hash", "dvc repro                # runs nothing: every stage is up to date",
        "redditess claims", "```", "",
        "A Zenodo record serves single files, not folders: download and unpack the record's tarball first, then point",
        "the remote at the unpacked `dvc-remote/` (or serve it with any static web server, e.g.",
        "`python -m http.server -d dvc-remote 8000` and `http://127.0.0.1:8000`).", "",
        "## Images", "", *image_lines, "",
        "## Outputs", "", "| output | md5 | bytes | files |", "|---|---|---:|---:|", *rows, ""])


def build(root: Path, out: Path, images: list[Path] | None = None, tar: bool = False) -> str:
    """Write the bundle into ``out``; return a one-line summary."""
    root, out = Path(root).resolve(), Path(out).resolve()
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out}: exists and is not empty (the bundle is written into a new folder)")
    if out == root or root in out.parents:
        raise InputError(f"{out}: inside the workspace; write the bundle outside {root} (e.g. --out ../redditess-archive)")
    for image in images or []:
        if not Path(image).is_file():
            raise InputError(f"{image}: no such image tarball (`docker save redditess:cpu -o {image}`)")
    meta = preconditions(root)
    out.mkdir(parents=True, exist_ok=True)
    remote = out / "dvc-remote"
    remote.mkdir()
    push_outputs(root, remote)
    for name in ("dvc.lock", "dvc.yaml", "params.yaml"):
        shutil.copy2(root / name, out / name)
    names = []
    for image in images or []:
        (out / "image").mkdir(exist_ok=True)
        shutil.copy2(image, out / "image" / Path(image).name)
        names.append(Path(image).name)
    lock = yaml.safe_load((root / "dvc.lock").read_text(encoding="utf-8")) or {}
    outs = sorted({o["path"]: o for s in (lock.get("stages") or {}).values() for o in s.get("outs", [])}.values(),
                  key=lambda o: o["path"])
    stored = [p for p in remote.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in stored)
    (out / "ARCHIVE.md").write_text(archive_md(meta, outs, len(stored), size, names), encoding="utf-8")
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "SHA256SUMS")
    (out / "SHA256SUMS").write_text("".join(f"{sha256(p)}  {p.relative_to(out).as_posix()}\n" for p in files), encoding="utf-8")
    summary = f"{out}: {len(stored)} cache objects ({size:,} bytes) of commit {meta['commit'][:12]}, dvc.lock, SHA256SUMS, ARCHIVE.md"
    if tar:
        packed = out.with_name(out.name + ".tar")
        with tarfile.open(packed, "w") as tf:
            tf.add(out, arcname=out.name)
        summary += f"; packed into {packed}"
    return summary
