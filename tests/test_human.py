"""Human validation round trip: export a sample, fill it, import it, report agreement with people."""

import csv

import numpy as np
import pandas as pd
import pytest

from redditess.agreement import human_agreement, versus_reference
from redditess.cli import main as cli
from redditess.human import read_sheet
from redditess.runtime import InputError

from conftest import copy_pipeline, run_stage, write_params


def test_sheet_errors_name_file_line_and_column(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("comment_id,effective,supportiveness,dimensions\nc1,1,4,emotional;tangible\nc2,yes,3,\n")
    with pytest.raises(InputError, match=r"a.csv:3: effective must be 1 or 0, got 'yes'"):
        read_sheet(f)
    f.write_text("comment_id,effective,supportiveness,dimensions\nc1,1,4,magic\n")
    with pytest.raises(InputError, match=r"a.csv:2: unknown dimensions \['magic'\]"):
        read_sheet(f)
    f.write_text("comment_id,effective,supportiveness,dimensions\nzz,1,4,\n")
    with pytest.raises(InputError, match="a.csv:2: comment_id 'zz' is not in the sample"):
        read_sheet(f, {"c1"})


def test_human_statistics():
    human = np.array([[1, 1, 1], [0, 0, 1], [1, np.nan, 1], [0, 0, 0]], dtype=float)
    m, majority = human_agreement(human, n_boot=20, seed=0)
    assert majority.tolist() == [1, 0, 1, 0] and m["human_annotators"] == 3
    v = versus_reference(np.array([1, 0, 0, np.nan]), majority)
    assert v["n"] == 3 and v["accuracy"] == pytest.approx(2 / 3)


def test_round_trip_export_fill_import_and_report(tmp_path, monkeypatch):
    repo = copy_pipeline(tmp_path / "repo")
    write_params(repo, {"collect": {"demo": {"n_threads": 60}}, "agreement": {"bootstrap": 20}})
    for stage, *args in (("collect",), ("threads",), ("label", "general_feedback"), ("label", "community"),
                         ("label", "op_reply"), ("aggregate",)):
        run_stage(repo, stage, *args)
    monkeypatch.chdir(repo)
    assert cli(["annotate", "export", "--n", "30"]) == 0
    html = (repo / "annotation/form.html").read_text()
    assert "Download CSV" in html and "<script src" not in html and "http" not in html.split("<script>")[1]
    sample = pd.read_csv(repo / "annotation/sample.csv", dtype=str, keep_default_na=False)
    assert len(sample) == 30 and sample.stratum.nunique() >= 3
    ens = pd.read_parquet(repo / "data/labels/ensemble.parquet").set_index("comment_id")
    for k, name in enumerate(("ann_a", "ann_b", "ann_c")):
        rows = []
        for i, cid in enumerate(sample.comment_id):
            truth = ens.label.get(cid)
            eff = int(truth) if pd.notna(truth) else 1
            if (i + k) % 7 == 0:
                eff = 1 - eff  # annotators disagree now and then
            rows.append({"comment_id": cid, "effective": eff, "supportiveness": 3, "dimensions": "emotional"})
        path = tmp_path / f"{name}.csv"
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["comment_id", "effective", "supportiveness", "dimensions"])
            w.writeheader()
            w.writerows(rows)
        assert cli(["annotate", "import", "--annotator", name, str(path)]) == 0
    assert sorted(p.name for p in (repo / "human").glob("*.csv")) == ["ann_a.csv", "ann_b.csv", "ann_c.csv"]
    run_stage(repo, "agreement")
    report = (repo / "reports/agreement.md").read_text()
    assert "## Against people" in report and "| ensemble |" in report
    import json

    m = json.loads((repo / "metrics/agreement.json").read_text())
    assert m["human_annotators"] == 3 and 0 < m["human_fleiss_kappa"] <= 1
    assert m["vs_human_n_ensemble"] > 20 and m["vs_human_accuracy_ensemble"] > 0.7
    assert "vs_human_positive_agreement_op_reply" in m and "vs_human_negative_agreement_op_reply" in m


def test_export_before_the_pipeline_ran_is_one_clear_error(tmp_path, monkeypatch, capsys):
    import shutil

    from conftest import ROOT

    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    assert cli(["annotate", "export"]) == 2
    assert capsys.readouterr().err.strip() == "error: data/threads.parquet: missing (run the stage that produces it: dvc repro)"
