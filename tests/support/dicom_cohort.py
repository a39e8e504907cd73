"""A manifest cohort stored as DICOM with identifying tags, and a scanner for those tags' values.

The privacy promise (docs/configuration.md, ``myoflow.cohort.dicom``) is that no identifying
DICOM value reaches
anything a run writes. Checking it needs two things kept here: real-looking input (phantom slices,
so the whole experiment runs on it, written as DICOM carrying ``writers.IDENTITY``) and a search
that would find a value however it leaked: in parts (a family name alone), reformatted (a date as
1961-04-17), case-changed, or inside a container (gzip, zip, HDF5, base64 in the report's HTML,
compressed PNG text chunks).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pydicom
from pydicom.datadict import dictionary_VR

from myoflow.phantom.cohort import generate, plan
from support.writers import (
    IDENTITY,
    write_dicom_folder,
    write_manifest,
    write_nifti,
    write_nifti_displacement,
)

#: Phantom rats to write as DICOM: six subjects in two groups, so the default split has train,
#: val and test subjects (as in support.workflow.TINY_MYONET).
PHANTOM = {
    "species": "rat",
    "seed": 17,
    "subjects": 6,
    "slices": ["mid"],
    "frames": 8,
    "matrix": 96,
    "groups": {"sham": {"fraction": 0.5}, "rt": {"fraction": 0.5, "global_scale": 0.7}},
}
#: Stored DICOM values span 0..STORED_MAX; RescaleSlope maps them back to the phantom's range.
STORED_MAX = 4000

#: Shortest needles that cannot match by chance. Letters are matched case-insensitively, so a
#: random byte matches one with probability ~2/256: 6 letters give ~2e-13 per position, under
#: 1e-5 over the ~50 MB a tiny run writes. Digits are matched only with no digit on either side,
#: and 8 digits at one position of random text have probability 1e-8; floats in the tables have
#: 15-17 digit representations, so a standalone 8-digit run does not occur by chance either.
MIN_LETTERS = 6
MIN_DIGITS = 8
#: pydicom's UID root: a public organisation prefix shared by every UID pydicom generates, not a
#: patient's. The digits after it are the identifying part.
PYDICOM_ROOT = "1.2.826.0.1.3680043.8.498."


@dataclass(frozen=True)
class Needle:
    """One identifying string to look for, and the tag it was derived from."""

    text: str
    tag: str

    @property
    def digits_only(self) -> bool:
        return self.text.isdigit()

    def found_in(self, layer: bytes, lowered: bytes) -> bool:
        """Letters case-insensitively (``lowered`` is ``layer.lower()``, computed once per layer
        for every needle); digits only as a whole number, with no digit on either side."""
        key = self.text.lower().encode()
        if key not in lowered:  # a fast substring test first; the regex only on a hit
            return False
        if not self.digits_only:
            return True
        return re.search(rb"(?<![0-9])" + re.escape(key) + rb"(?![0-9])", layer) is not None


# ------------------------------------------------------------------------------------ the cohort


def write_dicom_cohort(data: Path) -> tuple[Path, list[Path]]:
    """Phantom slices as a manifest cohort under ``data``; returns the manifest and DICOM files.

    Per subject: the cine as a folder of single-frame DICOM images carrying ``IDENTITY`` (the
    common export of a scanner); the myocardium mask and the phantom's exact displacement (the
    ``provided`` reference) as NIfTI, as segmentation and tracking tools write them; RV insertion
    points, ES frame and group as columns.
    File and folder names are neutral, since paths are the one thing allowed into results.
    """
    data.mkdir(parents=True, exist_ok=True)
    rows = []
    dicom_files: list[Path] = []
    for i, spec in enumerate(plan("privacy", PHANTOM)):
        record = generate(spec)
        assert record.cine is not None and record.mask is not None
        assert record.displacement is not None and record.rv_insertion_mm is not None
        name = f"p{i + 1:02d}"
        peak = float(record.cine.max())
        slope = peak / STORED_MAX
        stored = np.clip(np.round(record.cine / slope), 0, STORED_MAX).astype(np.uint16)
        spacing = record.pixel_spacing_mm
        times = np.asarray(record.frame_times_ms, dtype=float)
        cine = write_dicom_folder(
            data / f"{name}_cine", stored, spacing, times, slope=slope, intercept=0, identity=True
        )
        mask = write_nifti(data / f"{name}_mask.nii.gz", record.mask, spacing, float(times[1]))
        dicom_files += sorted(cine.iterdir())
        displacement = write_nifti_displacement(
            data / f"{name}_displacement.nii.gz", record.displacement, spacing
        )
        (ant_x, ant_y), (inf_x, inf_y) = record.rv_insertion_mm
        rows.append(
            {
                "subject": name,
                "slice": "mid",
                "group": record.group,
                "cine": cine.name,
                "mask": mask.name,
                "displacement": displacement.name,
                "es_frame": record.es_frame,
                "rv_ant_x_mm": ant_x,
                "rv_ant_y_mm": ant_y,
                "rv_inf_x_mm": inf_x,
                "rv_inf_y_mm": inf_y,
            }
        )
    return write_manifest(data / "manifest.tsv", rows), dicom_files


# ----------------------------------------------------------------------------------- the needles


def _date_forms(value: str) -> list[str]:
    """A DICOM date (YYYYMMDD) as the ways software commonly prints it."""
    y, m, d = value[:4], value[4:6], value[6:8]
    return [value, f"{y}-{m}-{d}", f"{d}.{m}.{y}", f"{m}/{d}/{y}", f"{d}/{m}/{y}", f"{y}/{m}/{d}"]


def _distinctive(token: str) -> bool:
    return (token.isdigit() and len(token) >= MIN_DIGITS) or (
        not token.isdigit() and len(token) >= MIN_LETTERS
    )


def _parts(keyword: str, value: str) -> list[str]:
    """The whole value and every distinctive piece a leak could show on its own."""
    vr = dictionary_VR(keyword)
    if vr == "DA":
        return _date_forms(value)
    if vr == "UI":
        suffix = value.removeprefix(PYDICOM_ROOT)
        return [value, *[p for p in suffix.split(".") if _distinctive(p)]]
    # names (PN: family^given^middle), IDs (letters and digits), institution words
    tokens = re.findall(r"[A-Za-z]+|[0-9]+", value)
    return [value, *[t for t in tokens if _distinctive(t)]]


def identifying_needles(
    identity: Mapping[str, str], dicom_files: Iterable[Path] = ()
) -> list[Needle]:
    """Needles for every identifying value: ``identity`` and the files' own instance UIDs.

    SOPInstanceUID is generated per file by the writer (not in ``identity``); it is read back
    from each written file, so the files themselves say what must not leak.
    """
    needles = {Needle(p, k) for k, v in identity.items() for p in _parts(k, v)}
    for path in dicom_files:
        ds = pydicom.dcmread(path, specific_tags=["SOPInstanceUID"])
        uid = str(ds.SOPInstanceUID)
        needles.update(Needle(p, "SOPInstanceUID") for p in _parts("SOPInstanceUID", uid))
    short = [n for n in needles if n.text != identity.get(n.tag) and not _distinctive(n.text)]
    # date forms carry separators, so they cannot be confused with a number either
    short = [n for n in short if dictionary_VR(n.tag) != "DA"]
    assert not short, f"needles too short to be searched without false alarms: {short}"
    return sorted(needles, key=lambda n: (n.tag, n.text))


# ----------------------------------------------------------------------------------- the scanner

_BASE64 = re.compile(rb"base64,([A-Za-z0-9+/]+={0,2})")
_PNG = b"\x89PNG\r\n\x1a\n"
_HDF5 = b"\x89HDF\r\n\x1a\n"


def _png_text(data: bytes) -> Iterator[bytes]:
    """The compressed text chunks (zTXt, compressed iTXt) of a PNG, decompressed."""
    at = len(_PNG)
    while at + 8 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        at += 12 + length
        try:
            if kind == b"zTXt":
                yield zlib.decompress(body[body.index(b"\0") + 2 :])
            elif kind == b"iTXt":
                key_end = body.index(b"\0")
                if body[key_end + 1] == 1:
                    rest = body[key_end + 3 :]
                    rest = rest[rest.index(b"\0") + 1 :]  # language tag
                    yield zlib.decompress(rest[rest.index(b"\0") + 1 :])  # translated keyword
        except (ValueError, IndexError, zlib.error):
            yield b""


def _hdf5_text(data: bytes) -> bytes:
    """Every name, attribute and string dataset of an HDF5 file, as text.

    Compressed chunks would hide a string from a byte search; reading through h5py does not.
    """
    pieces: list[str] = []

    def visit(name: str, obj: h5py.Group | h5py.Dataset) -> None:
        pieces.append(name)
        pieces.extend(f"{k}={v!r}" for k, v in obj.attrs.items())
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "SUO":
            pieces.append(repr(obj[()]))

    with h5py.File(io.BytesIO(data), "r") as h5:
        pieces.extend(f"{k}={v!r}" for k, v in h5.attrs.items())
        h5.visititems(visit)
    return "\n".join(pieces).encode()


def layers(name: str, data: bytes, depth: int = 0) -> Iterator[tuple[str, bytes]]:
    """``data`` and everything a reader could unpack from it, each with where it came from."""
    yield name, data
    if depth >= 4:
        return
    inner: list[tuple[str, bytes]] = []
    if data[:2] == b"\x1f\x8b":
        inner.append((f"{name}!gunzip", gzip.decompress(data)))
    elif data[:8] == _HDF5:
        inner.append((f"{name}!hdf5", _hdf5_text(data)))
    elif data[:8] == _PNG:
        inner += [(f"{name}!png-text", text) for text in _png_text(data)]
    elif data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inner += [(f"{name}!{m}", archive.read(m)) for m in archive.namelist()]
    for i, match in enumerate(_BASE64.finditer(data)):
        try:
            inner.append((f"{name}!base64[{i}]", base64.b64decode(match.group(1), validate=True)))
        except (binascii.Error, ValueError):
            continue
    for inner_name, inner_data in inner:
        yield from layers(inner_name, inner_data, depth + 1)


def find_leaks(
    sources: Iterable[tuple[str, bytes]], needles: Iterable[Needle]
) -> list[tuple[str, str, str]]:
    """(needle, its tag, where) for every needle found in any layer of any source."""
    needles = list(needles)
    leaks = []
    for source, data in sources:
        for where, layer in layers(source, data):
            lowered = layer.lower()
            leaks += [(n.text, n.tag, where) for n in needles if n.found_in(layer, lowered)]
    return leaks


def files_under(*roots: Path) -> Iterator[tuple[str, bytes]]:
    """Every regular file under ``roots`` (or a root that is a file), with its bytes."""
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            yield str(path), path.read_bytes()


__all__ = ["IDENTITY", "Needle", "files_under", "find_leaks", "identifying_needles"]
