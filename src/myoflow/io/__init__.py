"""Files between stages: HDF5 record shards, TSV tables, atomic writes, NIfTI exports."""
