"""No identifying DICOM value reaches a record, an error message, a traceback or a log."""

from __future__ import annotations

import logging
import traceback
import warnings
from pathlib import Path

import pandas as pd
import pydicom
import pytest

from myoflow.cohort.acquisition import acquisition_metadata
from myoflow.cohort.ingest import ingest_row, ingest_shard
from myoflow.errors import InputError

OPTIONS = {"source": "manifest", "name": "private"}


def _secrets(identity: dict[str, str]) -> list[str]:
    """Every identifying value, and recognisable pieces of it."""
    pieces = set(identity.values())
    for value in identity.values():
        pieces.update(p for p in value.replace("^", " ").split() if len(p) > 3)
        pieces.update(value.split(".")[-1:])
    return sorted(pieces)


def _assert_clean(text: str, identity: dict[str, str]) -> None:
    leaked = [s for s in _secrets(identity) if s in text]
    assert not leaked, f"identifying values leaked: {leaked}"


def _record_text(record) -> str:
    return "\n".join(repr(getattr(record, name)) for name in record.__dataclass_fields__)


def test_record_holds_no_identifying_value(tmp_path: Path, write) -> None:
    s = write.make_slice()
    folder = write.dicom_folder(tmp_path / "cine", s.stored, s.spacing, s.times, identity=True)
    enhanced = write.enhanced_dicom(
        tmp_path / "tagged.dcm", s.stored, s.spacing, s.times, identity=True
    )
    mask = write.enhanced_dicom(
        tmp_path / "mask", s.mask, s.spacing, s.times, slope=1, intercept=0, identity=True
    )
    row = {
        "subject": "s01",
        "slice": "mid",
        "cine": str(folder),
        "tagged": str(enhanced),
        "mask": str(mask),
    }
    record = ingest_row(row, "private", OPTIONS)
    text = _record_text(record) + repr(record.extras) + repr(record.covariates)
    _assert_clean(text, write.identity)
    assert record.covariates == {
        "cine_field_strength_t": 1.5,
        "tagged_field_strength_t": 1.5,
        "mask_field_strength_t": 1.5,
    }
    assert record.source_files == {k: row[k] for k in ("cine", "tagged", "mask")}


def test_safe_metadata_is_a_whitelist(write, tmp_path: Path) -> None:
    s = write.make_slice()
    folder = write.dicom_folder(tmp_path / "cine", s.stored, s.spacing, s.times, identity=True)
    ds = pydicom.dcmread(next(folder.iterdir()))  # everything, identity included
    assert ds.PatientName == write.identity["PatientName"]
    assert acquisition_metadata(ds) == ({"field_strength_t": 1.5}, [])


def _corruptions(data: bytes, identity: dict[str, str]) -> dict[str, bytes]:
    """Damaged copies of a DICOM file, several cut inside or just after identifying values."""
    out = {"half": data[: len(data) // 2], "tail_cut": data[:-37], "header_only": data[:300]}
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "InstitutionName"):
        at = data.find(identity[keyword].encode())
        assert at > 0
        out[f"cut_in_{keyword}"] = data[: at + 4]
        garbled = bytearray(data)
        garbled[at - 2 : at] = b"\xff\xff"  # an absurd value length just before the value
        out[f"bad_length_{keyword}"] = bytes(garbled)
    out["no_preamble"] = data[128:]
    return out


@pytest.mark.parametrize("layout", ["folder", "enhanced"])
def test_errors_and_logs_on_corrupted_files_hold_no_identifying_value(
    tmp_path: Path, write, caplog, layout: str
) -> None:
    s = write.make_slice()
    if layout == "folder":
        source = write.dicom_folder(tmp_path / "clean", s.stored, s.spacing, s.times, identity=True)
        victim_name = min(p.name for p in source.iterdir())
        data = (source / victim_name).read_bytes()
    else:
        source = write.enhanced_dicom(
            tmp_path / "clean.dcm", s.stored, s.spacing, s.times, identity=True
        )
        data = source.read_bytes()

    rows, errors = [], []
    for i, (name, damaged) in enumerate(_corruptions(data, write.identity).items()):
        if layout == "folder":
            target = write.dicom_folder(
                tmp_path / name, s.stored, s.spacing, s.times, identity=True
            )
            (target / victim_name).write_bytes(damaged)
        else:
            target = tmp_path / f"{name}.dcm"
            target.write_bytes(damaged)
        row = {"subject": f"s{i:02d}", "slice": "mid", "cine": str(target)}
        rows.append(row)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                ingest_row(row, "private", OPTIONS)
        except InputError as error:
            errors.append(error)
            _assert_clean(str(error), write.identity)
            _assert_clean("".join(traceback.format_exception(error)), write.identity)
        _assert_clean(" ".join(str(w.message) for w in caught), write.identity)
    assert len(errors) >= len(rows) - 1, "nearly every corruption must be detected"

    with caplog.at_level(logging.DEBUG):
        records, qc = ingest_shard(pd.DataFrame(rows), "private", OPTIONS)
    _assert_clean(caplog.text, write.identity)
    _assert_clean(qc.to_csv(), write.identity)
    for record in records:
        _assert_clean(_record_text(record), write.identity)
