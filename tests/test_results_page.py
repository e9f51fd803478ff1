"""The results page a reviewer opens: `dvc plots show` on the committed plot data, rendered by
Debian's headless Chromium with the network cut off. Every chart must draw marks, each exactly once."""

from __future__ import annotations

import html.parser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import ROOT

# No DNS: any request that leaves the machine fails, as it would for a reviewer offline.
OFFLINE = ["--headless", "--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND",
           "--virtual-time-budget=30000"]


class Charts(html.parser.HTMLParser):
    """Each chart's div and the attributes the page's probe script set (.dvc/plots_offline.html)."""

    def __init__(self):
        super().__init__()
        self.charts: dict[str, dict[str, str]] = {}
        self.images: dict[str, int] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and attrs.get("id") and ({"data-marks", "data-error"} & set(attrs) or "vega-embed" in attrs.get("class", "")):
            self.charts[attrs["id"]] = attrs
        elif tag == "img":
            self.images[attrs.get("src", "")] = int(attrs.get("data-width", "0"))


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "headless Chromium is needed: apt-get install -y chromium (.ci/run installs it)"
    return path


def render(repo: Path, out: Path, screenshot: Path | None = None) -> tuple[str, Charts]:
    dvc = Path(sys.executable).with_name("dvc")
    subprocess.run([str(dvc), "plots", "show", "-o", str(out)], cwd=repo, check=True, capture_output=True, text=True)
    page = out / "index.html"
    dom = subprocess.run([chromium(), *OFFLINE, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([chromium(), *OFFLINE, "--hide-scrollbars", "--window-size=1200,2600", f"--screenshot={screenshot}",
                        page.as_uri()], capture_output=True, text=True, timeout=120, check=True)
    parser = Charts()
    parser.feed(dom.stdout)
    return page.read_text(encoding="utf-8"), parser


def pipelines() -> list[Path]:
    """Every dvc.yaml DVC collects (the demo's and the folder pipelines', e.g. real/): one page draws all."""
    return sorted(p.relative_to(ROOT) for p in ROOT.glob("*dvc.yaml")) + sorted(p.relative_to(ROOT) for p in ROOT.glob("*/dvc.yaml"))


def test_the_results_page_renders_every_chart_once_offline(tmp_path):
    charts, images, files = [], [], set()
    for dvc_yaml in pipelines():
        spec = yaml.safe_load((ROOT / dvc_yaml).read_text())["plots"]
        folder = dvc_yaml.parent
        # DVC names a chart on a page of several dvc.yaml files by the file: `real/dvc.yaml` -> `real_dvc_yaml__<name>`
        prefix = str(dvc_yaml).replace("/", "_").replace(".", "_") + "__"
        charts += [prefix + next(iter(p)) for p in spec if isinstance(p, dict)]
        images += [folder / p for p in spec if isinstance(p, str)]
        files |= {folder / f for p in spec if isinstance(p, dict) for f in (next(iter(p.values()))["y"] or {})}
    assert Path("dvc.yaml") in pipelines() and len(pipelines()) >= 2, pipelines()
    absent = sorted(str(f) for f in files | set(images) if not (ROOT / f).exists())
    assert not absent, f"{absent}: the committed results are missing (git-tracked; `dvc repro` rebuilds them)"

    shot = tmp_path / "plots_offline.png"  # not into the repository: no stage rebuilds a screenshot, so none is committed
    page, drawn = render(ROOT, tmp_path / "page", shot)
    assert "cdn.jsdelivr.net" not in page and not re.search(r"<script[^>]*\bsrc=\"https?:", page)
    assert not {c: a["data-error"] for c, a in drawn.charts.items() if "data-error" in a}
    marks = {c: int(a.get("data-marks", 0)) for c, a in drawn.charts.items()}
    assert sorted(marks) == sorted(charts)  # each chart exactly once: no second, unconfigured copy
    assert all(n > 0 for n in marks.values()), f"charts that drew no marks: {[c for c, n in marks.items() if n == 0]}"
    assert len(drawn.images) == len(images) and min(drawn.images.values()) > 0, drawn.images
    assert shot.stat().st_size > 10_000
