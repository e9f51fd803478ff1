import ast
import dataclasses

import pytest
import yaml

from redditess.config import Params, ParamsError, deep_merge, load_params, params_from_dict

from conftest import ROOT


def test_params_yaml_matches_documented_defaults_and_spells_out_every_key():
    # params.yaml and the dataclass defaults are one source of truth: a drift is a bug. Every key
    # is written out, so DVC's params tracking sees every knob a stage reads. With a profile active
    # (`redditess profile paper`), it must be the defaults with exactly that profile's values set.
    defaults = dataclasses.asdict(Params())
    allowed = [Params()] + [params_from_dict(deep_merge(defaults, yaml.safe_load(p.read_text())), str(p))
                            for p in sorted((ROOT / "profiles").glob("*.yaml"))]
    assert load_params(ROOT / "params.yaml") in allowed
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    missing = []

    def walk(obj, data, path):
        for f in dataclasses.fields(obj):
            key = f"{path}.{f.name}" if path else f.name
            if f.name not in data:
                missing.append(key)
            elif dataclasses.is_dataclass(getattr(obj, f.name)):
                walk(getattr(obj, f.name), data[f.name], key)

    walk(Params(), raw, "")
    assert not missing, f"params.yaml leaves these to code defaults: {missing}"


@pytest.mark.parametrize(
    "data, message",
    [
        ({"colect": {}}, "unknown key 'colect'"),
        ({"collect": {"demo": {"n_thread": 3}}}, "unknown key 'collect.demo.n_thread'"),
        ({"collect": {"source": "ftp"}}, "key 'collect.source' must be one of ['demo', 'dump', 'praw']"),
        ({"seed": "1"}, "key 'seed' must be int"),
        ({"seed": True}, "key 'seed' must be int"),
        ({"split": {"train": "0.7"}}, "key 'split.train' must be a number"),
        ({"collect": {"dump": {"paths": "RS_*.zst"}}}, "key 'collect.dump.paths' must be a list"),
        ({"label": {"judges": [{"name": "a"}]}}, "key 'label.judges[0]'"),
    ],
)
def test_bad_params_name_the_key(data, message):
    with pytest.raises(ParamsError) as err:
        params_from_dict(data, "params.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("params.yaml: ")


def test_every_field_is_documented():
    """open-instruct style: each config field is followed by its docstring in config.py."""
    tree = ast.parse((ROOT / "src/redditess/config.py").read_text())
    missing = []
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name.endswith(("Config", "Params"))):
        body = cls.body
        for i, node in enumerate(body):
            if isinstance(node, ast.AnnAssign):
                nxt = body[i + 1] if i + 1 < len(body) else None
                if not (isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str)):
                    missing.append(f"{cls.name}.{node.target.id}")
    assert not missing, f"fields without a docstring: {missing}"


def test_paper_profile_is_valid_params():
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    paper = yaml.safe_load((ROOT / "profiles/paper.yaml").read_text())
    params = params_from_dict(deep_merge(base, paper), "profiles/paper.yaml")
    assert params.sft.base_model != "tiny"
    assert params.collect.source in {"dump", "praw"}


def test_deep_merge_replaces_leaves_and_merges_mappings():
    assert deep_merge({"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"c": [2]}}) == {"a": {"b": 1, "c": [2]}, "d": 1}
