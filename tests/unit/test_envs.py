"""The conda environments of the jobs pin what pyproject.toml pins, so `--sdm conda` runs the
same versions as the project's own environment."""

from __future__ import annotations

import re
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
#: Rules whose script imports torch (every MyoNet stage reads myoflow.train.data); the others run
#: in the CPU environment.
TORCH_RULE_FILES = {"myonet.smk"}


def test_every_rule_names_its_conda_environment() -> None:
    """`--sdm conda` only builds an environment for a rule that declares one."""
    rules = 0
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        expected = "torch.yaml" if smk.name in TORCH_RULE_FILES else "core.yaml"
        for name, body in RULE.findall(smk.read_text()):
            rules += 1
            match = re.search(r'^    conda:\n        "([^"]+)"', body, re.MULTILINE)
            assert match, f"{smk.name}: rule {name} declares no conda environment"
            env = (smk.parent / match.group(1)).resolve()
            assert env.is_file() and env.name == expected, f"rule {name}: {match.group(1)}"
    assert rules >= 17
