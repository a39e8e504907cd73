"""Errors that carry the context a user needs to fix their data.

Every problem with user input must name the cohort, the subject, the file and what is wrong, so a
single exception type carries those fields and formats them the same way everywhere (logs, QC
tables, the terminal).
"""

from __future__ import annotations

from dataclasses import dataclass


class ConfigError(ValueError):
    """The configuration (config.yaml, a manifest's structure) is invalid; raised at start-up."""


@dataclass
class InputError(Exception):
    """A subject's input cannot be used.

    Raised by readers and checks; caught per record by the shard stages, which log it, list it in
    the QC table and go on with the other subjects.
    """

    problem: str
    cohort: str = "?"
    subject: str = "?"
    file: str = "-"
    slice_id: str = "-"

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        return (
            f"cohort={self.cohort} subject={self.subject} slice={self.slice_id} "
            f"file={self.file}: {self.problem}"
        )

    def with_context(
        self,
        cohort: str | None = None,
        subject: str | None = None,
        slice_id: str | None = None,
        file: str | None = None,
    ) -> InputError:
        """Return a copy with unknown fields filled in (known ones are kept)."""
        return InputError(
            problem=self.problem,
            cohort=self.cohort if self.cohort != "?" or cohort is None else cohort,
            subject=self.subject if self.subject != "?" or subject is None else subject,
            file=self.file if self.file != "-" or file is None else file,
            slice_id=self.slice_id if self.slice_id != "-" or slice_id is None else slice_id,
        )
