"""Cohort ingestion: user data (manifest or ACDC-style folder) -> canonical SliceRecords.

``manifest`` and ``acdc`` build the table of subject x slice rows at workflow start (cheaply: it
sizes the shard plan); ``ingest`` turns one row into a validated record inside a shard job, using
one reader per format (``nifti``, ``dicom``, ``arrays``) that all return a ``series.Series`` in the
canonical layout; ``geometry`` derives RV insertion points and slice positions from label maps.
Nothing is imported here, so that parse-time code loads pandas, not pydicom, nibabel or h5py.
"""
