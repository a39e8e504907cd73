"""Paper 001's model plan and the settings of a ``tagseg`` experiment: the models are the
paper's (section 2.2: two architectures x four strategies, each pretraining once, one CycleGAN),
in a valid training order, and the settings resolve from the config without torch."""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Any

import pytest

from myoflow.config import check_config
from myoflow.errors import ConfigError
from myoflow.experiment import method_of, resolve
from myoflow.methods.tagseg.settings import (
    CYCLEGAN,
    TagSegSettings,
    gamma_models,
    model_plan,
    segmenters,
)
from myoflow.settings import parse, plain

ARCHS = ("dynunet", "segresnetvae")
SOURCES = ("cine", "physics", "cyclegan")
STRATEGIES = ("scratch", *SOURCES)


def _settings(**given: Any) -> dict[str, Any]:
    """Resolved settings (plain values) as the parse step hands them to ``model_plan``."""
    return plain(parse(TagSegSettings, given, "test.settings"))


def _assert_training_order(plan: dict[str, Any]) -> None:
    """Every model's needs are models of the plan that come before it."""
    seen: set[str] = set()
    for name, spec in plan.items():
        assert spec.name == name
        missing = [need for need in spec.needs if need not in seen]
        assert not missing, f"{name} needs {missing} which are not trained before it"
        seen.add(name)


# --- the plan of the paper's defaults ---------------------------------------------------------


def test_default_plan_is_the_papers_fifteen_models() -> None:
    plan = model_plan(_settings())
    expected = {
        "cyclegan",
        *(f"pretrain_{source}_{arch}" for source in SOURCES for arch in ARCHS),
        *(f"{arch}_{strategy}" for arch in ARCHS for strategy in STRATEGIES),
    }
    assert set(plan) == expected
    assert len(plan) == 1 + 3 * 2 + 2 * 4 == 15


def test_default_plan_is_a_valid_training_order() -> None:
    _assert_training_order(model_plan(_settings()))


def test_pretrainings_and_finetunings_need_what_they_start_from() -> None:
    plan = model_plan(_settings())
    for arch in ARCHS:
        for source in SOURCES:
            spec = plan[f"pretrain_{source}_{arch}"]
            assert spec.kind == "pretrain"
            assert (spec.architecture, spec.source) == (arch, source)
            assert spec.start is None
            assert spec.needs == (("cyclegan",) if source == "cyclegan" else ())
        scratch = plan[f"{arch}_scratch"]
        assert scratch.kind == "tagged"
        assert (scratch.architecture, scratch.strategy) == (arch, "scratch")
        assert scratch.start is None and scratch.needs == ()
        assert scratch.gamma == 0.05
        for strategy in SOURCES:
            spec = plan[f"{arch}_{strategy}"]
            assert spec.kind == "tagged"
            assert (spec.architecture, spec.strategy) == (arch, strategy)
            assert spec.start == f"pretrain_{strategy}_{arch}"
            assert spec.needs == (f"pretrain_{strategy}_{arch}",)
            assert spec.gamma == 0.05


def test_one_cyclegan_serves_both_architectures() -> None:
    plan = model_plan(_settings())
    cyclegans = [name for name, spec in plan.items() if spec.kind == "cyclegan"]
    assert cyclegans == [CYCLEGAN]
    assert plan[CYCLEGAN].needs == () and plan[CYCLEGAN].architecture is None
    needing = sorted(name for name, spec in plan.items() if CYCLEGAN in spec.needs)
    assert needing == ["pretrain_cyclegan_dynunet", "pretrain_cyclegan_segresnetvae"]
    assert segmenters(plan) == [name for name in plan if name != CYCLEGAN]
    assert len(segmenters(plan)) == 14


def test_strategies_without_cyclegan_plan_no_cyclegan() -> None:
    plan = model_plan(_settings(strategies=["scratch", "cine", "physics"]))
    assert CYCLEGAN not in plan
    assert all(spec.kind != "cyclegan" and CYCLEGAN not in spec.needs for spec in plan.values())
    assert set(plan) == {
        *(f"pretrain_{source}_{arch}" for source in ("cine", "physics") for arch in ARCHS),
        *(f"{arch}_{s}" for arch in ARCHS for s in ("scratch", "cine", "physics")),
    }
    _assert_training_order(plan)


def test_scratch_only_plans_no_pretraining() -> None:
    plan = model_plan(_settings(strategies=["scratch"]))
    assert set(plan) == {"dynunet_scratch", "segresnetvae_scratch"}
    assert all(spec.kind == "tagged" and spec.needs == () for spec in plan.values())


def test_one_architecture_one_strategy() -> None:
    plan = model_plan(_settings(architectures=["dynunet"], strategies=["physics"]))
    assert list(plan) == ["pretrain_physics_dynunet", "dynunet_physics"]
    _assert_training_order(plan)


# --- Table 4's sweep of the shape-aware weight -------------------------------------------------


def test_gamma_sweep_reuses_the_scratch_model_at_the_experiments_gamma() -> None:
    settings = _settings(gamma_sweep=[0, 0.05, 0.1])
    models = gamma_models(settings)
    assert models == {
        0.0: "segresnetvae_scratch_g0",
        0.05: "segresnetvae_scratch",
        0.1: "segresnetvae_scratch_g0.1",
    }
    plan = model_plan(settings)
    assert len(plan) == 15 + 2, "the model at gamma 0.05 is trained once, for both tables"
    assert "segresnetvae_scratch_g0.05" not in plan
    for gamma, name in ((0.0, "segresnetvae_scratch_g0"), (0.1, "segresnetvae_scratch_g0.1")):
        spec = plan[name]
        assert spec.kind == "tagged"
        assert spec.architecture == "segresnetvae"
        assert spec.strategy == "scratch"
        assert spec.gamma == gamma
        assert spec.start is None and spec.needs == ()
    _assert_training_order(plan)


def test_gamma_sweep_trains_its_own_model_when_the_experiment_has_none_to_reuse() -> None:
    settings = _settings(architectures=["dynunet"], gamma_sweep=[0, 0.05, 0.1])
    assert settings["sweep_architecture"] == "segresnetvae"
    models = gamma_models(settings)
    assert models == {
        0.0: "segresnetvae_scratch_g0",
        0.05: "segresnetvae_scratch_g0.05",
        0.1: "segresnetvae_scratch_g0.1",
    }
    plan = model_plan(settings)
    assert "segresnetvae_scratch" not in plan
    for gamma, name in models.items():
        assert plan[name].kind == "tagged" and plan[name].gamma == gamma
        assert plan[name].strategy == "scratch" and plan[name].needs == ()
    # no scratch strategy: nothing to reuse either
    no_scratch = _settings(strategies=["cine"], gamma_sweep=[0.05])
    assert gamma_models(no_scratch) == {0.05: "segresnetvae_scratch_g0.05"}
    assert "segresnetvae_scratch_g0.05" in model_plan(no_scratch)


def test_no_gamma_sweep_no_sweep_models() -> None:
    assert gamma_models(_settings()) == {}
    assert not any("_g" in name for name in model_plan(_settings()))


# --- TagSeg.settings through myoflow.experiment.resolve -----------------------------------------


def _raw_config(**settings: Any) -> dict[str, Any]:
    """Two small synthetic cohorts, frames2d at 64 pixels, and a tagseg experiment on the first."""
    cohort = {"source": "synthetic", "subjects": 2, "slices": ["mid"], "frames": 4}
    return {
        "preprocess": {"frames2d": {"size": 64}},
        "cohorts": {"ph": dict(cohort), "ph2": {**cohort, "seed": 3}},
        "experiments": {
            "seg": {"method": "tagseg", "cohorts": ["ph"], "settings": settings},
            "seg2": {"method": "tagseg", "cohorts": ["ph", "ph2"]},
        },
    }


def _resolved(raw: dict[str, Any], name: str = "seg") -> dict[str, Any]:
    return resolve(check_config(copy.deepcopy(raw)), name)


def test_empty_roles_are_every_cohort_of_the_experiment() -> None:
    one = _resolved(_raw_config())["settings"]
    two = _resolved(_raw_config(), "seg2")["settings"]
    for role in ("pretrain_cohorts", "tagged_cohorts", "unlabelled_cohorts"):
        assert one[role] == ["ph"]
        assert two[role] == ["ph", "ph2"]


def test_a_given_role_is_kept() -> None:
    raw = _raw_config()
    raw["experiments"]["seg2"]["settings"] = {"tagged_cohorts": ["ph2"]}
    settings = _resolved(raw, "seg2")["settings"]
    assert settings["tagged_cohorts"] == ["ph2"]
    assert settings["pretrain_cohorts"] == ["ph", "ph2"]


def test_a_role_outside_the_experiments_cohorts_is_refused() -> None:
    raw = _raw_config(tagged_cohorts=["ph2"])  # ph2 is in the config, not in experiment seg
    with pytest.raises(ConfigError, match=r"settings\.tagged_cohorts") as err:
        _resolved(raw)
    assert "ph2" in str(err.value)


def test_image_size_is_the_cohorts_frames2d_size() -> None:
    assert _resolved(_raw_config())["settings"]["image_size"] == 64
    assert _resolved(_raw_config(), "seg2")["settings"]["image_size"] == 64
    assert _resolved(_raw_config(image_size=64))["settings"]["image_size"] == 64
    raw = _raw_config()
    del raw["preprocess"]
    assert _resolved(raw)["settings"]["image_size"] == 256, "frames2d's default, the paper's"


def test_cohorts_with_different_frames2d_sizes_are_refused() -> None:
    raw = _raw_config()
    raw["cohorts"]["ph2"]["preprocess"] = {"frames2d": {"size": 32}}
    assert _resolved(raw)["settings"]["image_size"] == 64, "seg has ph only"
    with pytest.raises(ConfigError, match="image_size"):
        _resolved(raw, "seg2")
    for size in (32, 64):  # one network cannot take both sizes, whatever it is told
        raw["experiments"]["seg2"]["settings"] = {"image_size": size}
        with pytest.raises(ConfigError, match="image_size"):
            _resolved(raw, "seg2")


def test_moving_tags_need_pretraining_cohorts_that_keep_their_displacement() -> None:
    raw = _raw_config(physics={"moving_tags": True})
    with pytest.raises(ConfigError, match=r"physics\.moving_tags: .*\['ph'\]"):
        _resolved(raw)
    raw["preprocess"]["frames2d"]["displacement"] = True
    assert _resolved(raw)["settings"]["physics"]["moving_tags"] is True


def test_an_explicit_image_size_other_than_the_cohorts_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"settings\.image_size"):
        _resolved(_raw_config(image_size=128))


def test_at_least_one_architecture_and_strategy() -> None:
    for key in ("architectures", "strategies"):
        with pytest.raises(ConfigError, match=r"experiments\.seg\.settings"):
            _resolved(_raw_config(**{key: []}))


def test_method_models_and_needs_agree_with_the_plan() -> None:
    experiment = _resolved(_raw_config(gamma_sweep=[0, 0.05]))
    method = method_of("tagseg")
    plan = model_plan(experiment["settings"])
    assert method.models(experiment) == list(plan)
    assert len(plan) == 16
    for name, spec in plan.items():
        assert method.train_needs(experiment, name) == list(spec.needs)
    assert method.train_needs(experiment, "dynunet_cyclegan") == ["pretrain_cyclegan_dynunet"]
    assert method.train_needs(experiment, "pretrain_cyclegan_dynunet") == ["cyclegan"]
    assert method.train_needs(experiment, "segresnetvae_scratch_g0") == []


def test_targets_are_the_papers_tables_figures_and_qc() -> None:
    experiment = _resolved(_raw_config())
    targets = method_of("tagseg").targets(experiment)
    tables = [t for t in targets if t.startswith("tables/") and t.endswith(".md")]
    figures = [t for t in targets if t.startswith("figures/") and t.endswith(".png")]
    assert len(tables) == 4
    assert {"tables/table2_networks.md", "tables/table3_strategies.md"} <= set(tables)
    assert "tables/table4_gamma.md" in tables
    assert len(figures) == 5
    assert "tables/qc.tsv" in targets
    assert len(targets) == len(set(targets)) == 4 + 5 + 1


def test_resolution_is_torch_free() -> None:
    """The parse step resolves every experiment: settings, plan, needs and targets without torch
    (as ``tests/unit/test_registry.py`` checks the methods' import)."""
    raw = _raw_config(gamma_sweep=[0, 0.1])
    code = (
        "import sys; from myoflow.config import check_config; "
        "from myoflow.experiment import method_of, resolve; "
        f"cfg = check_config({raw!r}); m = method_of('tagseg'); "
        "exp = resolve(cfg, 'seg'); "
        "names = m.models(exp); assert len(names) == 17, names; "
        "[m.train_needs(exp, n) for n in names]; assert m.targets(exp); "
        "resolve(cfg, 'seg2'); "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    run = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
