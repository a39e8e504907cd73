"""Fixtures of the cohort tests: the writers of tests/support/writers.py and a reference slice."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from support import writers
from support.writers import Slice, make_slice


@pytest.fixture()
def reference_slice() -> Slice:
    return make_slice()


@pytest.fixture()
def write() -> SimpleNamespace:
    """The writers, as a fixture."""
    return SimpleNamespace(
        nifti=writers.write_nifti,
        nifti_displacement=writers.write_nifti_displacement,
        dicom_folder=writers.write_dicom_folder,
        enhanced_dicom=writers.write_enhanced_dicom,
        h5=writers.write_h5,
        npz=writers.write_npz,
        manifest=writers.write_manifest,
        make_slice=make_slice,
        identity=writers.IDENTITY,
    )
