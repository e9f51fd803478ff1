"""Human annotations: the stratified sample sheet, the offline HTML form, and reading filled sheets."""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from redditess.runtime import InputError
from redditess.support import DIMENSIONS

SHEET_COLUMNS = ["comment_id", "effective", "supportiveness", "dimensions"]
RUBRIC = """Read the post, then the reply. Judge the REPLY:
- effective: 1 if the reply would actually help the person who posted (feel understood, know what to do next,
  feel less alone, or be safer); 0 if it would not (dismissive, judgmental, off-topic, self-promoting, harmful).
- supportiveness: 1 (not supportive) to 4 (very supportive).
- dimensions present (any): informational (information, resources), emotional (empathy, care),
  esteem (validation, worth), network (shared experience, belonging), tangible (concrete strategies, steps)."""


def sample_for_annotation(units: pd.DataFrame, ensemble: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` comments stratified by ensemble label (effective / ineffective / abstain) and golden,
    equal shares per stratum where possible, seeded."""
    df = units.merge(ensemble[["comment_id", "label", "golden"]], on="comment_id")
    df["stratum"] = df.label.astype("string").fillna("abstain") + "/" + df.golden.map({True: "golden", False: "other"})
    rng = np.random.default_rng(seed)
    strata = sorted(df.stratum.unique())
    per = max(1, n // max(1, len(strata)))
    parts = []
    for s in strata:
        group = df[df.stratum == s].sort_values("comment_id")
        parts.append(group.iloc[np.sort(rng.permutation(len(group))[:per])])
    out = pd.concat(parts).sort_values("comment_id")
    if len(out) < n:  # fill from what is left
        rest = df[~df.comment_id.isin(out.comment_id)].sort_values("comment_id")
        out = pd.concat([out, rest.iloc[np.sort(rng.permutation(len(rest))[: n - len(out)])]])
    return out.sort_values("comment_id")[["comment_id", "post_title", "post_body", "comment_body", "stratum"]].head(n)


def form_html(sample: pd.DataFrame) -> str:
    """A self-contained page (no network) to annotate ``sample`` and download the filled CSV."""
    items = [{"id": r.comment_id, "title": r.post_title, "post": r.post_body, "reply": r.comment_body}
             for r in sample.itertuples()]
    data = json.dumps(items).replace("</", "<\\/")
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>redditess annotation</title>
<style>body{{font-family:sans-serif;max-width:900px;margin:auto}} .item{{border:1px solid #ccc;padding:12px;margin:12px 0}}
.post{{background:#f6f6f6;padding:8px;white-space:pre-wrap}} .reply{{background:#eef6ff;padding:8px;white-space:pre-wrap}}</style>
</head><body><h1>Effective support: annotation</h1><pre>{html.escape(RUBRIC)}</pre>
<p>Annotator name: <input id="annotator"></p><div id="items"></div>
<button onclick="download()">Download CSV</button>
<script>
const ITEMS = {data};
const DIMS = {json.dumps(list(DIMENSIONS))};
const root = document.getElementById("items");
ITEMS.forEach((it, i) => {{
  const d = document.createElement("div"); d.className = "item";
  d.innerHTML = `<b>${{i + 1}} / ${{ITEMS.length}}</b><div class="post"><b></b>\\n</div><p>Reply:</p><div class="reply"></div>
  <p>Effective? <label><input type="radio" name="e${{i}}" value="1">yes</label> <label><input type="radio" name="e${{i}}" value="0">no</label>
  &nbsp; Supportiveness: <select id="s${{i}}"><option></option><option>1</option><option>2</option><option>3</option><option>4</option></select></p>
  <p>Dimensions: ${{DIMS.map(x => `<label><input type="checkbox" name="d${{i}}" value="${{x}}">${{x}}</label>`).join(" ")}}</p>`;
  d.querySelector(".post b").textContent = it.title; d.querySelector(".post").append(it.post);
  d.querySelector(".reply").textContent = it.reply; root.append(d);
}});
function cell(v) {{ return '"' + String(v).replace(/"/g, '""') + '"'; }}
function download() {{
  const rows = [["comment_id", "effective", "supportiveness", "dimensions"]];
  ITEMS.forEach((it, i) => {{
    const e = document.querySelector(`input[name=e${{i}}]:checked`);
    const dims = [...document.querySelectorAll(`input[name=d${{i}}]:checked`)].map(x => x.value).join(";");
    rows.push([it.id, e ? e.value : "", document.getElementById(`s${{i}}`).value, dims]);
  }});
  const blob = new Blob([rows.map(r => r.map(cell).join(",")).join("\\n") + "\\n"], {{type: "text/csv"}});
  const a = document.createElement("a"); a.href = URL.createObjectURL(blob);
  a.download = (document.getElementById("annotator").value || "annotator") + ".csv"; a.click();
}}
</script></body></html>
"""


def read_sheet(path: Path, known_ids: set[str] | None = None) -> pd.DataFrame:
    """Validate one filled sheet; every problem names the file, line and column."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError:
        raise InputError(f"{path}: not found") from None
    if rows and (missing := [c for c in SHEET_COLUMNS if c not in rows[0]]):
        raise InputError(f"{path}: missing columns {missing}")
    out = []
    for lineno, row in enumerate(rows, 2):
        cid = (row["comment_id"] or "").strip()
        if known_ids is not None and cid not in known_ids:
            raise InputError(f"{path}:{lineno}: comment_id {cid!r} is not in the sample")
        eff = (row["effective"] or "").strip()
        if eff == "":
            continue  # not annotated (yet): skipped, not guessed
        if eff not in ("0", "1"):
            raise InputError(f"{path}:{lineno}: effective must be 1 or 0, got {eff!r}")
        sup = (row["supportiveness"] or "").strip()
        if sup and sup not in ("1", "2", "3", "4"):
            raise InputError(f"{path}:{lineno}: supportiveness must be 1-4, got {sup!r}")
        dims = sorted({d.strip().lower() for d in (row["dimensions"] or "").split(";") if d.strip()})
        if bad := [d for d in dims if d not in DIMENSIONS]:
            raise InputError(f"{path}:{lineno}: unknown dimensions {bad}")
        out.append({"comment_id": cid, "effective": int(eff), "supportiveness": int(sup) if sup else None,
                    "dimensions": ";".join(dims)})
    return pd.DataFrame(out, columns=SHEET_COLUMNS)


def load_human(folder: Path) -> pd.DataFrame:
    """All annotators' sheets under ``folder``: comment_id x annotator matrix of effective (NaN = not rated)."""
    frames = {}
    for path in sorted(folder.glob("*.csv")):
        sheet = read_sheet(path)
        frames[path.stem] = sheet.set_index("comment_id")["effective"].astype(float)
    return pd.DataFrame(frames).sort_index() if frames else pd.DataFrame()
