"""Profiles: named sets of params values (``profiles/<name>.yaml``) set in ``params.yaml`` in place.

Like ``dvc exp run -S key=value`` (which edits params.yaml through ruamel's round trip too), applying
a profile changes only the values it names and keeps every comment, the key order and all other
keys, so ``git diff params.yaml`` and ``dvc params diff`` show exactly what the profile changed, DVC
re-runs exactly the stages those values reach, and ``redditess profile default`` (every key back to
its documented default in config.py) reverts it. The built-in ``default`` profile needs no file.
"""

from __future__ import annotations

import dataclasses
import typing
import io
from pathlib import Path

import yaml

from redditess.config import Params, deep_merge, params_from_dict
from redditess.runtime import InputError

DEFAULT = "default"


def _yaml():
    from ruamel.yaml import YAML

    # The settings under which params.yaml round-trips byte for byte (a test checks it).
    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 4096
    rt.indent(mapping=2, sequence=4, offset=2)
    rt.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    rt.representer.add_representer(float, _represent_float)
    return rt


def _represent_float(representer, value: float):
    # PyYAML (the stages' loader) reads YAML 1.1, where "5e-05" is a string: write "5.0e-5", small
    # numbers in scientific notation and whole numbers without ".0", as params.yaml spells them.
    if value.is_integer() and value != 0 and abs(value) < 1e15:
        return representer.represent_int(int(value))
    text = repr(value) if value == 0 or abs(value) >= 1e-2 else f"{value:.15e}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        mantissa = mantissa.rstrip("0") if "." in mantissa else mantissa + "."
        text = f"{mantissa}{'0' if mantissa.endswith('.') else ''}e{int(exponent)}"
    return representer.represent_scalar("tag:yaml.org,2002:float", text)


def profile_values(name: str, profiles_dir: Path = Path("profiles")) -> dict:
    """The values a profile sets: its YAML file, or every documented default for ``default``."""
    if name == DEFAULT:
        return dataclasses.asdict(Params())
    path = profiles_dir / f"{name}.yaml"
    if not path.exists():
        have = sorted([DEFAULT] + [p.stem for p in profiles_dir.glob("*.yaml")])
        raise InputError(f"{path}: no such profile (have: {have})")
    values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(values, dict):
        raise InputError(f"{path}: a profile is a mapping of params keys, got {type(values).__name__}")
    return values


def _free_form(dotted: str) -> bool:
    """Whether ``dotted`` names a ``dict[str, Any]`` field (a pass-through mapping, not a section)."""
    cls = Params
    for part in dotted.split("."):
        hints = typing.get_type_hints(cls) if dataclasses.is_dataclass(cls) else {}
        if part not in hints:
            return False
        cls = hints[part]
    return typing.get_origin(cls) is dict


def _set(node, values: dict, prefix: str, changed: list[str]) -> None:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    for key, value in values.items():
        dotted = f"{prefix}{key}"
        old = node.get(key)
        # Merge into a section; replace a free-form mapping (``trainer_args``) whole, so that
        # ``profile default`` empties what another profile put there.
        if isinstance(value, dict) and isinstance(old, CommentedMap) and not _free_form(dotted):
            _set(old, value, dotted + ".", changed)
        elif isinstance(value, dict) and isinstance(old, CommentedMap):
            if dict(old) != value:  # in place, keeping its style and the blank line after it
                flow = old.fa.flow_style() or not old  # an empty mapping is written `{}`
                for k in [k for k in old if k not in value]:
                    del old[k]
                old.update(value)
                if flow:
                    old.fa.set_flow_style()
                changed.append(dotted)
        elif old != value:
            if isinstance(value, list) and isinstance(old, CommentedSeq) and old.fa.flow_style() \
                    and not any(isinstance(v, dict | list) for v in value):
                seq = CommentedSeq(value)
                seq.fa.set_flow_style()
                value = seq
            node[key] = value
            changed.append(dotted)


def apply_profile(name: str, params_path: Path = Path("params.yaml"), profiles_dir: Path = Path("profiles")) -> list[str]:
    """Set the profile's values in ``params_path``; returns the dotted keys that changed.

    The merged result is validated (unknown or mistyped keys name the profile file) before anything
    is written; the file is replaced atomically."""
    from redditess.io import write_text

    values = profile_values(name, profiles_dir)
    text = params_path.read_text(encoding="utf-8")
    params_from_dict(deep_merge(yaml.safe_load(text), values), str(profiles_dir / f"{name}.yaml"))
    rt = _yaml()
    doc = rt.load(text)
    changed: list[str] = []
    _set(doc, values, "", changed)
    if changed:
        out = io.StringIO()
        rt.dump(doc, out)
        write_text(params_path, out.getvalue())
    return changed
