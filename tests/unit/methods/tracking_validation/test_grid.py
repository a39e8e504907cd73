"""The tracking validation grid: settings, cells, their ids, and agreement with the schema."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from myoflow.config import TRACKING_VALIDATION_DEFAULTS, load_schema
from myoflow.methods.tracking_validation.grid import (
    CELL_FIELDS,
    MASK_ERRORS,
    REALISMS,
    Cell,
    SweepConfig,
)
from myoflow.phantom.realism import PRESETS


def test_config_from_dict() -> None:
    config = SweepConfig.from_dict(
        {
            "enabled": True,
            "trackers": ["harp"],
            "realism": ["ideal", "realistic"],
            "mask_error": ["none", "dilate2"],
            "snr": [20],
            "spacing_px": [4, 5],
            "slices": 1,
        },
        {"harp": {"some_option": 1}, "sinmod": {"other": 2}},
    )
    assert config.trackers == ("harp",) and config.snr == (20.0,)
    assert config.spacing_px == (4.0, 5.0) and config.slices == 1
    assert config.realism == ("ideal", "realistic") and config.mask_error == ("none", "dilate2")
    assert dict(config.tracker_options) == {"harp": {"some_option": 1}}
    assert len(list(config.cells())) == 2 * 2 * 2 * 1 * 2  # species rat, human by default
    with pytest.raises(ValueError, match="unknown key"):
        SweepConfig.from_dict({"slice": 1})
    with pytest.raises(ValueError, match="at least 1 slice"):
        SweepConfig(slices=0)
    with pytest.raises(ValueError, match="unknown mask_error"):
        SweepConfig(mask_error=("erode3",))
    with pytest.raises(ValueError, match="unknown realism"):
        SweepConfig(realism=("cartoon",))
    with pytest.raises(ValueError, match="'realism' is empty"):
        SweepConfig(realism=())
    with pytest.raises(ValueError, match="more than once"):
        SweepConfig(snr=(20.0, 20))


def test_defaults_are_the_schemas_and_names_the_phantoms() -> None:
    """The dataclass, ``config.TRACKING_VALIDATION_DEFAULTS`` and the schema say the same, and
    the allowed names are the phantom's presets and the schema's enums."""
    schema = load_schema()["properties"]["tracking_validation"]["properties"]
    defaults = SweepConfig()
    for key in ("trackers", *CELL_FIELDS, "slices", "seed"):
        value = getattr(defaults, key)
        expected = list(value) if isinstance(value, tuple) else value
        assert TRACKING_VALIDATION_DEFAULTS[key] == expected, key
        assert schema[key]["default"] == expected, key
    assert REALISMS == PRESETS
    assert tuple(schema["realism"]["items"]["enum"]) == REALISMS
    assert tuple(schema["mask_error"]["items"]["enum"]) == MASK_ERRORS


def test_cell_ids_are_stable_and_filesystem_safe() -> None:
    assert (
        Cell("human", "realistic", "dilate2", 20.0, 5.0).id == "human-realistic-dilate2-snr20-sp5"
    )
    assert Cell("rat", "ideal", "none", 7.5, 3.25).id == "rat-ideal-none-snr7p5-sp3p25"
    assert Cell("rat", "ideal", "none", 1e6, 4).id == "rat-ideal-none-snr1e06-sp4"
    config = SweepConfig(realism=REALISMS, mask_error=MASK_ERRORS)
    ids = [cell.id for cell in config.cells()]
    assert len(ids) == len(set(ids)) == 2 * 2 * 7 * 4 * 4
    assert all(re.fullmatch(r"[a-z0-9-]+", i) for i in ids)
    # a cell's id does not depend on the rest of the grid, and names it back
    small = SweepConfig(species=("human",), snr=(20.0,), spacing_px=(5.0,))
    (cell,) = small.cells()
    assert cell.id in ids and config.cell(cell.id) == cell
    with pytest.raises(KeyError, match="no cell"):
        small.cell("rat-ideal-none-snr20-sp5")


def test_one_cell_config_round_trips_through_json() -> None:
    """What a cell's job gets: the grid narrowed to its cell, through JSON and back."""
    config = SweepConfig(
        realism=REALISMS, mask_error=("none", "shift2"), slices=3, seed=4, matrix=128
    )
    cell = config.cell("human-realistic-shift2-snr10-sp6")
    only = SweepConfig.from_dict(json.loads(json.dumps(config.only(cell).to_dict())))
    assert list(only.cells()) == [cell]
    assert (only.slices, only.seed, only.matrix, only.trackers) == (3, 4, 128, config.trackers)
    assert SweepConfig.from_dict(config.to_dict()).to_dict() == config.to_dict()


def test_the_grid_imports_no_numpy() -> None:
    """The workflow's parse step reads the grid; it must stay as light as the config module."""
    code = (
        "import sys\n"
        "import myoflow.methods.tracking_validation.grid\n"
        "heavy = {'numpy', 'pandas', 'scipy', 'torch'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
