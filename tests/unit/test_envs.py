"""The conda environments of the jobs pin what pyproject.toml pins, so `--sdm conda` runs the
same versions as the project's own environment."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)$")


def _requirements(lines: list[str]) -> dict[str, str]:
    """``name -> version specifier`` (normalised: lower case, no spaces; conda's = is ==)."""
    out = {}
    for line in lines:
        name, spec = SPEC.match(line).groups()
        spec = spec.replace(" ", "")
        if re.fullmatch(r"=[^=].*", spec):
            spec = "=" + spec
        out[name.lower().replace("_", "-")] = spec
    return out


def _pyproject() -> dict[str, str]:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return _requirements(tomllib.load(fh)["project"]["dependencies"])


def _env(name: str) -> dict[str, str]:
    with open(ROOT / "envs" / name) as fh:
        deps = yaml.safe_load(fh)["dependencies"]
    lines = [d for d in deps if isinstance(d, str)]
    for d in deps:
        if isinstance(d, dict):
            lines += [p for p in d["pip"] if not p.startswith("-e")]
    return _requirements(lines)


@pytest.mark.parametrize("env", ["core.yaml", "torch.yaml"])
def test_environment_pins_agree_with_pyproject(env: str) -> None:
    project = _pyproject()
    packages = {k: v for k, v in _env(env).items() if k not in ("python", "pip")}
    assert packages, f"envs/{env} lists no packages"
    for name, spec in packages.items():
        assert name in project, f"envs/{env}: {name} is not a dependency in pyproject.toml"
        assert spec == project[name], f"envs/{env}: {name}{spec} but pyproject has {project[name]}"


def test_python_version_matches() -> None:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        requires = tomllib.load(fh)["project"]["requires-python"]
    for env in ("core.yaml", "torch.yaml"):
        assert _env(env)["python"] == "==3.11" and requires == ">=3.11"


RULE = re.compile(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", re.DOTALL | re.MULTILINE)
#: Rules whose job runs a method's network stages (they may import torch); the others run in the
#: CPU environment (a test below checks that their scripts do not import torch).
TORCH_RULES = {"train_model", "predict_shard", "evaluate_shard"}


def test_every_rule_names_its_conda_environment() -> None:
    """`--sdm conda` only builds an environment for a rule that declares one."""
    rules = 0
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for name, body in RULE.findall(smk.read_text()):
            expected = "torch.yaml" if name in TORCH_RULES else "core.yaml"
            rules += 1
            match = re.search(r'^    conda:\n        "([^"]+)"', body, re.MULTILINE)
            assert match, f"{smk.name}: rule {name} declares no conda environment"
            env = (smk.parent / match.group(1)).resolve()
            assert env.is_file() and env.name == expected, f"rule {name}: {match.group(1)}"
    assert rules >= 17


#: What the CPU-environment jobs import: the cohort, preprocessing, tracking, tracking
#: validation and report stages, and the generic report stage with MyoNet's report behind it.
CPU_MODULES = [
    "myoflow.stages.cohort",
    "myoflow.preprocess.pipeline",
    "myoflow.stages.tracking",
    "myoflow.tracking.api",
    "myoflow.report.tracking_quality",
    "myoflow.methods.tracking_validation.validation",
    "myoflow.methods.tracking_validation.cell_tables",
    "myoflow.methods.tracking_validation.report",
    "myoflow.stages.experiment",
    "myoflow.methods.myonet.report",
    "myoflow.methods.myonet.paper000",
    "myoflow.methods.myonet.evaluate",
    "myoflow.methods.tagstrain.report",
    "myoflow.methods.tagstrain.paper003",
    "myoflow.methods.tagstrain.figures",
]


def test_cpu_environment_jobs_do_not_import_torch() -> None:
    """core.yaml has no torch: a CPU job that imported it would fail under ``--sdm conda``."""
    code = (
        "import importlib, sys\n"
        f"for m in {CPU_MODULES!r}: importlib.import_module(m)\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    run = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
