"""Where a metrics file's numbers came from: the profile, the data source and the params.

Every ``metrics/*.json`` a stage writes carries a ``provenance`` block (``redditess.io.write_metrics``
adds it): ``profile`` (params.yaml's ``profile``: ``default``, ``real``, ``paper``), ``source``
(``collect.source``: ``demo``, ``dump``, ``praw``) and ``params_sha256`` (the SHA-256 of the params'
values as loaded, canonical JSON, so comments and key order do not change it). ``redditess claims``
reads it and refuses, in one line, a claims file written for another profile or data source: a
claim "on held-out real posts" is never checked against the simulator's numbers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import lru_cache
from pathlib import Path

KEY = "provenance"


def of_params(params) -> dict[str, str]:
    """The provenance block of metrics computed under ``params``."""
    canonical = json.dumps(dataclasses.asdict(params), sort_keys=True, separators=(",", ":"), default=str)
    return {"profile": params.profile, "source": params.collect.source,
            "params_sha256": hashlib.sha256(canonical.encode()).hexdigest()}


@lru_cache(maxsize=4)
def _cached(path: str, mtime_ns: int) -> dict[str, str]:
    from redditess.config import load_params

    return of_params(load_params(path))


def current(path: str | Path = "params.yaml") -> dict[str, str] | None:
    """The provenance of the params file a stage runs under (None when there is none: a library
    call outside a pipeline)."""
    p = Path(path)
    if not p.is_file():
        return None
    return dict(_cached(str(p.resolve()), p.stat().st_mtime_ns))
