"""Atomic file output: a reader never sees a half-written file.

Every stage writes into a temporary sibling and renames it into place only once it is complete;
a killed job therefore leaves either nothing or a stray ``.tmp-*`` file that no rule consumes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success move it onto ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{target.name}.", dir=target.parent)
    os.close(fd)
    # mkstemp creates the file 0600; give it the permissions any new file would get (umask),
    # so results stay readable by a lab group on a shared cluster.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_tsv(table: pd.DataFrame, target: str | os.PathLike[str]) -> None:
    """Write a tidy TSV atomically (no index column, NaN as empty)."""
    with atomic_path(target) as tmp:
        table.to_csv(tmp, sep="\t", index=False)
