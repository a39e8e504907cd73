"""Paper 000's tables from small hand-made tidy tables with known structure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from myoflow.methods.myonet import paper000

SEGMENTS = (0, 7, 8, 9)


def _summary(offset: float = 0.01, subjects: int = 6, slices: int = 2) -> pd.DataFrame:
    """Reference strain per subject x slice x segment; ``myonet`` = reference + offset + noise.

    Odd subjects are in group ``rt`` with |Ecc| 30 % lower than the ``sham`` ones.
    """
    rng = np.random.default_rng(1)
    rows = []
    for s in range(subjects):
        group = "rt" if s % 2 else "sham"
        for sl in range(slices):
            for seg in SEGMENTS:
                ecc = -0.18 * (0.7 if group == "rt" else 1.0) + rng.normal(0, 0.01)
                err = 0.4 + rng.normal(0, 0.02)
                base = {
                    "cohort": "c",
                    "subject": f"s{s}",
                    "slice_id": f"sl{sl}",
                    "position": "mid",
                    "group": group,
                    "segment": seg,
                }
                rows.append(
                    {**base, "method": "reference", "ecc_green_es": ecc, "err_green_es": err}
                )
                rows.append(
                    {
                        **base,
                        "method": "myonet",
                        "ecc_green_es": ecc + offset + rng.normal(0, 0.002),
                        "err_green_es": err - offset + rng.normal(0, 0.002),
                    }
                )
    return pd.DataFrame(rows)


def test_table1_means_and_paired_tests_per_segment() -> None:
    summary = _summary()
    table = paper000.segment_table(summary)
    assert set(table["segment"]) == set(SEGMENTS)
    row = table[
        (table["strain"] == "ecc_green_es")
        & (table["segment"] == 8)
        & (table["method"] == "myonet")
    ].iloc[0]
    seg = summary[summary["segment"] == 8]
    net = seg[seg["method"] == "myonet"]["ecc_green_es"].to_numpy()
    ref = seg[seg["method"] == "reference"]["ecc_green_es"].to_numpy()
    assert row["mean"] == pytest.approx(net.mean())
    assert row["n"] == len(net)
    assert row["p"] == pytest.approx(stats.ttest_rel(net, ref).pvalue)
    assert row["p_bonferroni"] == pytest.approx(min(1.0, row["p"] * len(SEGMENTS)))
    assert table[table["method"] == "reference"]["p"].isna().all()
    assert row["segment_name"] == "mid anteroseptal"


def test_table2_pools_segments_and_recovers_the_bias() -> None:
    summary = _summary(offset=0.02)
    metrics = pd.DataFrame(
        {
            "method": ["myonet", "myonet", "zero", "zero"],
            "against": "reference",
            "rmse_x_mm": [0.1, 0.3, 1.0, 1.2],
            "rmse_y_mm": 0.2,
            "ssim_x": 0.9,
            "ssim_y": 0.8,
            "epe_mm": [0.2, 0.4, 1.5, 1.5],
        }
    )
    table = paper000.agreement_table_rows(summary, metrics)
    rmse = table[table["metric"] == "rmse_x_mm"].set_index("method")
    assert rmse.loc["myonet", "value"] == pytest.approx(0.2)
    assert rmse.loc["zero", "value"] == pytest.approx(1.1)
    bias = table[(table["metric"] == "ba_bias") & (table["strain"] == "ecc_green_es")].iloc[0]
    assert bias["value"] == pytest.approx(0.02, abs=0.002)
    assert bias["ci_low"] < bias["value"] < bias["ci_high"]
    n_pairs = (summary["segment"] != 0).sum() // 2  # one pair per slice x AHA segment
    assert bias["n"] == n_pairs
    icc = table[(table["metric"] == "icc_a1") & (table["strain"] == "err_green_es")].iloc[0]
    assert 0 < icc["value"] < 1


def test_group_table_uses_one_value_per_subject() -> None:
    summary = _summary()
    table = paper000.group_table(summary, "sham")
    ref = table[(table["method"] == "reference") & (table["strain"] == "ecc_green_es")].iloc[0]
    assert ref["group"] == "rt" and ref["reference_group"] == "sham"
    assert ref["n_group"] == 3 and ref["n_reference"] == 3  # subjects, not slices
    glob = summary[(summary["segment"] == 0) & (summary["method"] == "reference")]
    per_subject = glob.groupby(["subject", "group"])["ecc_green_es"].mean().reset_index()
    rt = per_subject[per_subject["group"] == "rt"]["ecc_green_es"]
    sham = per_subject[per_subject["group"] == "sham"]["ecc_green_es"]
    assert ref["mean_diff"] == pytest.approx(rt.mean() - sham.mean())
    assert ref["p"] == pytest.approx(stats.ttest_ind(rt, sham, equal_var=False).pvalue)
    assert ref["mean_diff"] > 0  # rt contracts less: Ecc is less negative
    with pytest.raises(ValueError, match="reference group 'none'"):
        paper000.group_table(summary, "none")


def test_timing_is_measured_or_projected() -> None:
    history = pd.DataFrame({"epoch": range(1, 13), "seconds": [2.0] * 11 + [4.0]})
    model = pd.DataFrame([{"parameters": 10, "device": "cpu", "train_slices": 5}])
    table = paper000.timing_table({"myonet": history}, {"myonet": model}).set_index("epochs")
    assert table.loc[10, "basis"] == "measured" and table.loc[10, "seconds"] == 20.0
    assert table.loc[100, "basis"].startswith("projected") and table.loc[100, "seconds"] == 200.0


def test_strain_pairs_match_table2_counts() -> None:
    summary = _summary()
    pairs = paper000.strain_pairs(summary)
    assert set(pairs["strain"]) == {"ecc_green_es", "err_green_es"}
    assert len(pairs) == 2 * (summary["segment"] != 0).sum() // 2
    assert (pairs["method"] == "myonet").all()


def _summary_with_truth(reference_offset: float = 0.03, net_offset: float = 0.01) -> pd.DataFrame:
    """A tracker reference = truth + ``reference_offset``, ``myonet`` = truth + ``net_offset``."""
    base = _summary(offset=0.0)
    truth = base[base["method"] == "reference"].assign(method="truth")
    rng = np.random.default_rng(2)
    reference = truth.assign(
        method="reference",
        ecc_green_es=truth["ecc_green_es"] + reference_offset + rng.normal(0, 0.002, len(truth)),
        err_green_es=truth["err_green_es"] + rng.normal(0, 0.002, len(truth)),
    )
    net = truth.assign(
        method="myonet",
        ecc_green_es=truth["ecc_green_es"] + net_offset + rng.normal(0, 0.002, len(truth)),
        err_green_es=truth["err_green_es"] + rng.normal(0, 0.002, len(truth)),
    )
    return pd.concat([reference, truth, net], ignore_index=True)


def _metrics_with_truth() -> pd.DataFrame:
    rows = [
        ("myonet", "reference", 0.3),
        ("zero", "reference", 1.4),
        ("myonet", "truth", 0.2),
        ("harp", "truth", 0.1),
        ("zero", "truth", 1.5),
    ]
    return pd.DataFrame(
        [
            {
                "method": m,
                "against": a,
                "rmse_x_mm": e,
                "rmse_y_mm": e,
                "ssim_x": 0.9,
                "ssim_y": 0.9,
                "epe_mm": e,
            }
            for m, a, e in rows
            for _ in range(3)
        ]
    )


def test_table2_adds_every_method_against_truth() -> None:
    summary = _summary_with_truth(reference_offset=0.03, net_offset=0.01)
    table = paper000.agreement_table_rows(summary, _metrics_with_truth(), reference_name="harp")
    epe = table[table["metric"] == "epe_mm"]
    assert list(zip(epe["method"], epe["against"])) == [
        ("myonet", "reference"),
        ("zero", "reference"),
        ("myonet", "truth"),
        ("harp", "truth"),
        ("zero", "truth"),
    ]
    bias = table[(table["metric"] == "ba_bias") & (table["strain"] == "ecc_green_es")]
    keyed = bias.set_index(["method", "against"])["value"]
    # the reference block is the networks only (truth is not a method compared with the reference)
    assert set(bias[bias["against"] == "reference"]["method"]) == {"myonet"}
    assert keyed["myonet", "reference"] == pytest.approx(0.01 - 0.03, abs=0.003)
    # against truth: the tracker under its own name, and every network
    assert keyed["harp", "truth"] == pytest.approx(0.03, abs=0.003)
    assert keyed["myonet", "truth"] == pytest.approx(0.01, abs=0.003)
    strain_rows = table[table["strain"] != ""]
    assert list(dict.fromkeys(strain_rows["against"])) == ["reference", "truth"]
    assert "reference" not in set(table[table["against"] == "truth"]["method"])


def test_table2_without_truth_is_unchanged_by_the_reference_name() -> None:
    summary = _summary(offset=0.02)
    metrics = _metrics_with_truth()
    metrics = metrics[metrics["against"] == "reference"]
    plain = paper000.agreement_table_rows(summary, metrics)
    named = paper000.agreement_table_rows(summary, metrics, reference_name="harp")
    pd.testing.assert_frame_equal(plain, named)
    assert set(plain["against"]) == {"reference"}


def test_table1_and_figure_pairs_with_truth() -> None:
    summary = _summary_with_truth()
    table = paper000.segment_table(summary)
    assert list(dict.fromkeys(table["method"])) == ["reference", "truth", "myonet"]
    truth = table[(table["method"] == "truth") & (table["strain"] == "ecc_green_es")]
    assert truth["p"].notna().all(), "truth is tested against the reference like any method"
    pairs = paper000.strain_pairs(summary)
    assert set(pairs["method"]) == {"myonet"}, "Fig. 6 pairs networks with the reference only"
    stats = paper000.agreement_rows(summary, reference_name="harp")
    assert set(zip(stats["method"], stats["against"])) == {
        ("myonet", "reference"),
        ("harp", "truth"),
        ("myonet", "truth"),
    }
