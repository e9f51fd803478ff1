"""The one gate a stage passes before it may load a model from the Hugging Face hub.

The default profile fetches nothing: a hub name (anything that is not a local folder) loads only when
it is already in the local cache, or when downloads are allowed (a param such as
``training.allow_downloads``, or ``REDDITESS_ALLOW_DOWNLOADS=1`` for any stage). A hub name must come
with a pinned commit (its ``revision`` param), so the weights behind a result are the ones ``dvc.lock``
records through params.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from redditess.runtime import InputError

SHA = re.compile(r"[0-9a-f]{40}")


def check_hub_model(name: str, *, param: str, revision: str | None, revision_param: str, allow: bool = False) -> None:
    """Return when ``name`` may be loaded at ``revision``; otherwise one line naming the param to set."""
    if Path(name).exists():
        return
    if name.startswith(("/", ".", "~")) or name.count("/") > 1:  # meant as a folder, not a hub name
        raise InputError(f"{param}: {name} is not a local model folder (nor a hub name like org/model)")
    if not revision or not SHA.fullmatch(revision):
        raise InputError(f"{revision_param}: {param} is the hub model {name!r}; pin its commit (40 hex digits from "
                         f"huggingface.co/{name}/commits), got {revision!r}")
    if allow or os.environ.get("REDDITESS_ALLOW_DOWNLOADS") == "1":
        # the stage runner turned the hub off; turn it on for this process (also read at import)
        import huggingface_hub.constants

        os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "0"
        huggingface_hub.constants.HF_HUB_OFFLINE = False
        return
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name, "config.json", revision=revision), str):
        return
    raise InputError(f"{param}: hub model {name!r} is not in the local cache and downloads are off; allow them with "
                     f"training.allow_downloads: true or REDDITESS_ALLOW_DOWNLOADS=1 (gated models also need HF_TOKEN "
                     f"and the licence accepted on huggingface.co)")
