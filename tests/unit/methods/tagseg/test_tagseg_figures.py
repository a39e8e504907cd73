"""Paper 001's figures: the example picks, the frames read for them, and that every figure is
drawn (or says why not) from small hand-built tables and shards."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from myoflow.io.frames import write_frames
from myoflow.methods.tagseg import examples as frame_examples
from myoflow.methods.tagseg import figures
from myoflow.record import SliceRecord
from myoflow.tables import TAGSEG_SEGMENTATION

SIZE = 16
N_FRAMES = 4
#: The note figure's PNG: 5 x 1.6 inches at 150 dpi.
NOTE_PIXELS = (750, 240)


def _row(method: str, dice: float, **changes: Any) -> dict[str, Any]:
    """A segmentation row of ``method``'s test frame 0 of subject ``s``; ``changes`` override."""
    kind = "baseline" if method == "empty_mask" else "tagged"
    arch, _, strategy = method.partition("_")
    row: dict[str, Any] = dict.fromkeys(TAGSEG_SEGMENTATION, 0)
    row.update(
        experiment="e",
        cohort="ph",
        subject="s",
        slice_id="mid",
        position="mid",
        group="control",
        split="test",
        method=method,
        against="reference_mask",
        frame=0,
        kind=kind,
        architecture=None if kind == "baseline" else arch,
        strategy=None if kind == "baseline" else strategy,
        gamma=None if kind == "baseline" else 0.05,
        dice=dice,
        hd95_mm=2.0 * (1.0 - dice),
    )
    row.update(changes)
    return row


def _table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=TAGSEG_SEGMENTATION)


def _png_size(stem: Path) -> tuple[int, int]:
    data = stem.with_suffix(".png").read_bytes()
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _assert_drawn(stem: Path, note: bool = False) -> None:
    for suffix in (".png", ".svg"):
        assert stem.with_suffix(suffix).stat().st_size > 0
    assert (_png_size(stem) == NOTE_PIXELS) == note


# Test dice 0.1 .. 0.9 out of order: Q1 = 0.3 (frame 4), median 0.5 (frame 0), Q3 0.7 (frame 3).
SHUFFLED = [0.5, 0.9, 0.1, 0.7, 0.3, 0.8, 0.2, 0.6, 0.4]


def test_pick_examples_takes_the_quartile_frames_of_the_split() -> None:
    rows = [_row(m, d, frame=t) for m in ("a_x", "b_y") for t, d in enumerate(SHUFFLED)]
    # Training frames that would move every quantile if they counted.
    rows += [_row("a_x", 0.95, split="train", subject="t", frame=t) for t in range(20)]
    rows.append(_row("a_x", float("nan"), frame=9))
    picked = frame_examples.pick_examples(_table(rows), ["a_x", "b_y", "a_x", "absent"])
    assert list(picked.columns) == frame_examples.EXAMPLE_COLUMNS
    assert picked["model"].tolist() == ["a_x"] * 3 + ["b_y"] * 3
    assert picked["quantile"].tolist() == ["Q1", "median", "Q3"] * 2
    np.testing.assert_allclose(picked["dice"], [0.3, 0.5, 0.7] * 2)
    assert picked["frame"].tolist() == [4, 0, 3] * 2
    assert set(picked["subject"]) == {"s"}
    np.testing.assert_allclose(picked["hd95_mm"], [1.4, 1.0, 0.6] * 2)


def test_pick_examples_breaks_a_tie_by_table_order() -> None:
    # The median 0.25 lies halfway between 0.4 (first) and 0.1, where float rounding alone
    # would pick 0.1.
    rows = [_row("a_x", d, frame=t) for t, d in enumerate([0.4, 0.1])]
    picked = frame_examples.pick_examples(_table(rows), ["a_x"])
    assert picked["frame"].tolist() == [1, 0, 0]


def test_pick_examples_names_a_missing_column() -> None:
    table = _table([_row("a_x", 0.5)]).drop(columns="hd95_mm")
    with pytest.raises(ValueError, match="hd95_mm"):
        frame_examples.pick_examples(table, ["a_x"])
    assert frame_examples.pick_examples(_table([]), ["a_x"]).empty


def _record(cohort: str, subject: str, seed: int) -> SliceRecord:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    radius = np.hypot(yy - SIZE / 2, xx - SIZE / 2)
    masks = np.stack([(radius < 4 + t % 2) & (radius > 2) for t in range(N_FRAMES)])
    return SliceRecord(
        cohort=cohort,
        subject=subject,
        slice_id="mid",
        position="mid",
        group="control",
        pixel_spacing_mm=(1.5, 1.5),
        frame_times_ms=np.arange(N_FRAMES) * 40.0,
        original_frames=N_FRAMES,
        cine=rng.random((N_FRAMES, SIZE, SIZE), dtype=np.float32),
        tagged=rng.random((N_FRAMES, SIZE, SIZE), dtype=np.float32),
        mask=masks.astype(np.uint8),
    )


def test_load_examples_reads_the_frames_written_and_fig6_draws_them(tmp_path: Path) -> None:
    truth = [_record("ph", "a", 0), _record("ph", "b", 1)]
    # Another cohort's slice of the same key, in a shard read last: the cohort tells them apart.
    other = _record("other", "a", 2)
    shards = [tmp_path / "truth.h5", tmp_path / "other.h5"]
    write_frames(shards[0], truth, SIZE)
    write_frames(shards[1], [other], SIZE)
    predicted = [r.replace(mask=np.roll(r.mask, 1, axis=2)) for r in truth]
    write_frames(tmp_path / "pred.h5", predicted, SIZE)
    rows = [
        _row(m, 0.2 * t + 0.1 * s, subject=subject, frame=t)
        for m in ("dynunet_scratch", "dynunet_cine")
        for s, subject in enumerate("ab")
        for t in range(N_FRAMES)
    ]
    examples = frame_examples.pick_examples(_table(rows), ["dynunet_scratch", "dynunet_cine"])
    paths = {m: [tmp_path / "pred.h5"] for m in ("dynunet_scratch", "dynunet_cine")}
    images, truths, preds = frame_examples.load_examples(examples, shards, paths)
    frames = set(examples[["cohort", "subject", "slice_id", "frame"]].itertuples(index=False))
    assert len(images) == len(truths) == len(frames)
    assert len(preds) == len(examples)
    for _, ex in examples.iterrows():
        key = (ex["cohort"], ex["subject"], ex["slice_id"], int(ex["frame"]))
        k = "ab".index(ex["subject"])
        np.testing.assert_array_equal(images[key], truth[k].tagged[key[3]])
        np.testing.assert_array_equal(truths[key], truth[k].mask[key[3]])
        np.testing.assert_array_equal(preds[(ex["model"], *key)], predicted[k].mask[key[3]])
    figures.fig6_examples(examples, images, truths, preds, tmp_path / "fig6")
    _assert_drawn(tmp_path / "fig6")
    with pytest.raises(ValueError, match="prediction shards of 'dynunet_cine'"):
        frame_examples.load_examples(
            examples, shards, {"dynunet_scratch": paths["dynunet_scratch"]}
        )
    with pytest.raises(ValueError, match="truth shards"):
        frame_examples.load_examples(examples, shards[1:], paths)


def test_fig5_draws_three_or_four_panels(tmp_path: Path) -> None:
    image = np.linspace(0.0, 1.0, SIZE * SIZE).reshape(SIZE, SIZE)
    figures.fig5_transforms(image, image, None, None, tmp_path / "three")
    figures.fig5_transforms(image, image, image, image, tmp_path / "four")
    _assert_drawn(tmp_path / "three")
    _assert_drawn(tmp_path / "four")
    assert _png_size(tmp_path / "four")[0] > _png_size(tmp_path / "three")[0]
    with pytest.raises(ValueError, match="2-D"):
        figures.fig5_transforms(image[None], image, None, None, tmp_path / "bad")


def _history(epochs: int = 5, **columns: bool) -> pd.DataFrame:
    e = np.arange(epochs)
    names = ["train_dice", "val_dice", "train_loss", "val_loss"]
    return pd.DataFrame({"epoch": e, **{n: 1 / (1 + e) for n in names if columns.get(n, True)}})


def test_fig8_draws_the_tagged_models_with_dice_and_loss(tmp_path: Path) -> None:
    cyclegan = pd.DataFrame({"epoch": [0, 1], "train_adv_g": [1.0, 0.5], "train_cycle": [2, 1]})
    histories = {
        "segresnetvae_physics": _history(),
        "cyclegan": cyclegan,
        "pretrain_cine_dynunet": _history(),
        "segresnetvae_scratch_g0.1": _history(),
        "dynunet_cine": _history(train_dice=False, val_dice=False),
        "dynunet_scratch": _history(),
    }
    drawn = figures.fig8_training(histories, tmp_path / "fig8")
    assert drawn == ["dynunet_scratch", "segresnetvae_physics"]
    _assert_drawn(tmp_path / "fig8")
    assert figures.fig8_training({"cyclegan": cyclegan}, tmp_path / "none") == []
    _assert_drawn(tmp_path / "none", note=True)


def _results() -> pd.DataFrame:
    """Two Table 3 models over 2 slices x 4 frames, a DMD slice of one value, the baseline,
    a sweep model and training rows."""
    rows = []
    for m, base in (("dynunet_scratch", 0.6), ("segresnetvae_cyclegan", 0.8)):
        for t in range(N_FRAMES):
            rows += [_row(m, base - 0.05 * t + 0.02 * s, subject=f"c{s}", frame=t) for s in (0, 1)]
            rows.append(_row(m, base, subject="x", frame=t, group="constant"))
        rows.append(_row(m, base, subject="d", group="DMD"))
    rows += [_row("empty_mask", 0.0, frame=t) for t in range(N_FRAMES)]
    rows += [_row("segresnetvae_scratch_g0.1", 0.5), _row("dynunet_scratch", 0.1, split="train")]
    return _table(rows)


def test_fig9_and_fig11_draw_the_table3_models(tmp_path: Path) -> None:
    figures.fig9_dice_per_frame(_results(), tmp_path / "fig9")
    figures.fig11_groups(_results(), tmp_path / "fig11")
    _assert_drawn(tmp_path / "fig9")
    _assert_drawn(tmp_path / "fig11")


def test_fig9_and_fig11_say_why_without_tagged_rows(tmp_path: Path) -> None:
    table = _results()
    untrained = table[~table["method"].isin(["dynunet_scratch", "segresnetvae_cyclegan"])]
    figures.fig9_dice_per_frame(untrained, tmp_path / "fig9")
    figures.fig11_groups(untrained, tmp_path / "fig11")
    _assert_drawn(tmp_path / "fig9", note=True)
    _assert_drawn(tmp_path / "fig11", note=True)
    with pytest.raises(ValueError, match="group"):
        figures.fig11_groups(table.drop(columns="group"), tmp_path / "bad")


def test_table3_models_are_the_finetuned_names_in_paper_order() -> None:
    names = ["cyclegan", "segresnetvae_scratch", "pretrain_cine_dynunet", "dynunet_physics"]
    names += ["segresnetvae_scratch_g0.5", "empty_mask", "dynunet_scratch"]
    assert figures.table3_models(names) == [
        "dynunet_scratch",
        "dynunet_physics",
        "segresnetvae_scratch",
    ]
