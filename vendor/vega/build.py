"""Vendor vega, vega-lite and vega-embed from the npm registry into DVC's plots page template.

    python vendor/vega/build.py        # needs `npm`; rewrites .dvc/plots_offline.html and the licences here

`dvc plots show` normally loads the chart libraries from a CDN, so with no network no chart renders.
`.dvc/config` points `plots.html_template` at `.dvc/plots_offline.html`, which this script builds with
the three libraries inlined (each tarball checked against the registry's sha512 integrity pinned
below), so the page renders offline and keeps rendering when copied elsewhere. The template has no
``{scripts}`` placeholder, so DVC adds no CDN tags.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TEMPLATE = ROOT / ".dvc" / "plots_offline.html"

# package, version, npm integrity (sha512), script inside the tarball. vega ships no LICENSE file in
# its tarball; its package.json says BSD-3-Clause by the UW Interactive Data Lab, the same licence
# text as vega-lite's (LICENSE.vega states that).
PACKAGES = [
    ("vega", "5.33.1", "sha512-1fArfVDUqVbb5z8n+/nVQb+VNBzx8svY6CrsyTK4Ujm4yrd9I1auoKxBAPXLCavY1LcrbHUskQbGUP8gXOzyQw==",
     "package/build/vega.min.js"),
    ("vega-lite", "5.23.0", "sha512-l4J6+AWE3DIjvovEoHl2LdtCUkfm4zs8Xxx7INwZEAv+XVb6kR6vIN1gt3t2gN2gs/y4DYTs/RPoTeYAuEg6mA==",
     "package/build/vega-lite.min.js"),
    ("vega-embed", "6.29.0", "sha512-PmlshTLtLFLgWtF/b23T1OwX53AugJ9RZ3qPE2c01VFAbgt3/GSNI/etzA/GzdrkceXFma+FDHNXUppKuM0U6Q==",
     "package/build/vega-embed.min.js"),
]

# Charts are drawn as SVG; each chart's div records how many data marks it drew (data-marks) or why
# it failed (data-error), and each image its pixel width (data-width), so a headless browser can
# check the page (tests/test_reviewer.py).
PROBE = """<script>
(function () {
  var embed = window.vegaEmbed;
  window.vegaEmbed = function (el, spec, opt) {
    var node = document.querySelector(el);
    return embed(el, spec, Object.assign({renderer: "svg", actions: false}, opt || {})).then(function (res) {
      var n = 0;
      (function walk(mark) {
        (mark.items || []).forEach(function (item) {
          (item.items || []).forEach(walk);
        });
        if (mark.role === "mark" && mark.marktype !== "group") { n += (mark.items || []).length; }
      })(res.view.scenegraph().root);
      node.setAttribute("data-marks", String(n));
      return res;
    }).catch(function (err) { node.setAttribute("data-error", String(err)); });
  };
  window.addEventListener("load", function () {
    document.querySelectorAll("img").forEach(function (img) { img.setAttribute("data-width", String(img.naturalWidth)); });
  });
})();
</script>"""

PAGE = """<!DOCTYPE html>
<html>
<head>
    {refresh_tag}
    <meta charset="utf-8">
    <title>redditess: DVC plots</title>
    <!-- Built by vendor/vega/build.py: {versions} from the npm registry (BSD-3-Clause; licences in vendor/vega/). -->
{libs}
{probe}
    <style>
        body { font-family: sans-serif; }
        table { border-spacing: 15px; }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def fetch(name: str, version: str, integrity: str, member: str, workdir: Path) -> tuple[str, str]:
    subprocess.run(["npm", "pack", f"{name}@{version}", "--pack-destination", str(workdir)], check=True,
                   capture_output=True, text=True)
    tgz = workdir / f"{name}-{version}.tgz"
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
    if digest != integrity:
        sys.exit(f"error: {tgz.name}: integrity {digest} differs from the pinned {integrity}")
    with tarfile.open(tgz) as tar:
        script = tar.extractfile(member).read().decode("utf-8")
        names = tar.getnames()
        licence = tar.extractfile("package/LICENSE").read().decode() if "package/LICENSE" in names else None
    if "</script" in script.lower():
        sys.exit(f"error: {name}: the script contains '</script' and cannot be inlined")
    return script, licence


def main() -> int:
    libs, versions, licences = [], [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, version, integrity, member in PACKAGES:
            script, licence = fetch(name, version, integrity, member, Path(tmp))
            libs.append(f"    <script>/* {name}@{version} (BSD-3-Clause) */\n{script}\n</script>")
            versions.append(f"{name}@{version}")
            licences[name] = licence
    licences["vega"] = ("The vega npm package ships no LICENSE file; its package.json declares BSD-3-Clause by the\n"
                        "UW Interactive Data Lab, whose text (as in vega-lite) follows.\n\n" + licences["vega-lite"])
    for name, text in licences.items():
        (HERE / f"LICENSE.{name}").write_text(text)
    page = (PAGE.replace("{versions}", ", ".join(versions)).replace("{libs}", "\n".join(libs))
            .replace("{probe}", PROBE))
    TEMPLATE.write_text(page, encoding="utf-8")
    print(f"{TEMPLATE.relative_to(ROOT)}: {len(page) / 1e6:.2f} MB ({', '.join(versions)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
