"""dvc.yaml names, as a dependency of each stage, every library file the stage's code imports (so a
code change always re-runs the stages it can change), and every params section it reads is real."""

import ast
import re
from pathlib import Path

import yaml

from conftest import ROOT


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("redditess"):
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def _file(module: str) -> Path | None:
    base = ROOT / "src" / Path(*module.split("."))
    if base.with_suffix(".py").exists():
        return base.with_suffix(".py")
    if (base / "__init__.py").exists():
        return base / "__init__.py"
    return None  # a name imported from a module, not a module


def library_files(script: Path) -> set[str]:
    todo, seen = list(_imports(script)), set()
    while todo:
        f = _file(todo.pop())
        if f is None or f in seen:
            continue
        seen.add(f)
        todo.extend(_imports(f))
    return {str(f.relative_to(ROOT)) for f in seen if f.name != "__init__.py" or f.stat().st_size > 200}


def test_every_stage_depends_on_the_library_code_it_runs():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    missing = {}
    for name, stage in stages.items():
        body = stage.get("do", stage)
        script = ROOT / re.search(r"stages/\w+\.py", body["cmd"]).group(0)
        deps = [d for d in body.get("deps", []) if isinstance(d, str)]
        assert str(script.relative_to(ROOT)) in deps, f"{name} does not depend on its own script"
        uncovered = sorted(f for f in library_files(script)
                           if f not in deps and not any(f.startswith(d.rstrip("/") + "/") for d in deps))
        if uncovered:
            missing[name] = uncovered
    assert not missing, f"stages that do not depend on code they import: {missing}"
