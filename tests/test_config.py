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


def test_every_numeric_param_has_a_range():
    from redditess.config import RANGES, JudgeConfig, LabelConfig, numeric_fields

    params = dataclasses.replace(Params(), label=LabelConfig(judges=[JudgeConfig(name="j", model="m")]))
    patterns = {pattern for _, pattern, _ in numeric_fields(params)}
    assert patterns - set(RANGES) == set(), "numeric params without a range in config.RANGES"
    assert "label.judges[].concurrency" in patterns and "split.train" in patterns


VALUE_ERRORS = [
    ({"classifier": {"batch_size": 0}}, "key 'classifier.batch_size' must be >= 1, got 0"),
    ({"sft": {"learning_rate": -1e-3}}, "key 'sft.learning_rate' must be > 0, got -0.001"),
    ({"dpo": {"epochs": 0}}, "key 'dpo.epochs' must be > 0, got 0.0"),
    ({"ppo": {"total_episodes": -5}}, "key 'ppo.total_episodes' must be >= 1, got -5"),
    ({"ppo": {"total_episodes": 64, "batch_size": 16, "value_warmup_updates": 4}}, "key 'ppo.value_warmup_updates' must be below"),
    ({"rloo": {"batch_size": 10, "num_generations": 4}}, "key 'rloo.batch_size' must be a multiple of rloo.num_generations"),
    ({"rloo": {"num_generations": 1}}, "key 'rloo.num_generations' must be >= 2, got 1"),
    ({"split": {"train": 1.5}}, "key 'split.train' must be <= 1, got 1.5"),
    ({"split": {"train": 0.8, "val": 0.3}}, "key 'split.val' split.train + split.val must be <= 1"),
    ({"generate": {"top_p": 0}}, "key 'generate.top_p' must be > 0, got 0.0"),
    ({"evaluate": {"threshold": 2}}, "key 'evaluate.threshold' must be <= 1, got 2.0"),
    ({"collect": {"praw": {"limit": 0}}}, "key 'collect.praw.limit' must be >= 1, got 0"),
    ({"collect": {"source": "dump"}}, "key 'collect.dump.paths' must list at least one file pattern"),
    ({"collect": {"dump": {"start_utc": 10, "end_utc": 5}}}, "key 'collect.dump.end_utc' must be after"),
    ({"label": {"op_reply": {"gratitude_patterns": ["ok", "(unclosed"]}}},
     "key 'label.op_reply.gratitude_patterns[1]' is not a valid regular expression"),
    ({"label": {"judges": [{"name": "j", "model": "m", "concurrency": 0}]}}, "key 'label.judges[0].concurrency' must be >= 1"),
    ({"label": {"general_feedback": {"positive_threshold": -0.5}}}, "key 'label.general_feedback.negative_threshold' must be <="),
    ({"sft": {"n_head": 3}}, "key 'sft.n_head' must divide sft.n_embd"),
    ({"aggregate": {"golden_min_confidence": 1.2}}, "key 'aggregate.golden_min_confidence' must be <= 1"),
    ({"seeds": [0, 0]}, "key 'seeds' must be a non-empty list of distinct replicate indices >= 0, got [0, 0]"),
    ({"seeds": []}, "key 'seeds' must be a non-empty list of distinct replicate indices >= 0, got []"),
]


@pytest.mark.parametrize("overlay,message", VALUE_ERRORS, ids=[m.split("'")[1] for _, m in VALUE_ERRORS])
def test_out_of_range_values_are_one_error_naming_the_key(overlay, message):
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    with pytest.raises(ParamsError) as err:
        params_from_dict(deep_merge(base, overlay))
    assert str(err.value).startswith("params.yaml: " + message), str(err.value)
    assert "\n" not in str(err.value)


def test_a_bad_value_stops_a_stage_before_any_work(tmp_path):
    from conftest import copy_pipeline, run_stage, write_params

    repo = copy_pipeline(tmp_path / "r")
    write_params(repo, {"classifier": {"learning_rate": -1.0}})
    proc = run_stage(repo, "collect", check=False)
    assert proc.returncode == 2 and not (repo / "data").exists()
    assert proc.stderr.strip().splitlines() == ["error: params.yaml: key 'classifier.learning_rate' must be > 0, got -1.0"]
