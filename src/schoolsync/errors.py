"""schoolsync's own errors, and nothing else.

Every failure a user can cause or meet is one of these, raised with a sentence that says what is
wrong, where, and what to do. The CLI turns them into that sentence and exit status 1; nothing
above this layer shows a traceback. Foreign errors (JSON, TOML, SQLAlchemy, OS) are translated at
the boundary where they happen, with ``raise ... from exc``.

The tree::

    SchoolsyncError
    ├── InputError                  a source (register export, schedule file) cannot be read
    ├── ConfigError                 the settings file is wrong
    ├── DatabaseError               the directory database is unreachable, full or refuses
    │   └── NewerDirectoryError     the directory was written by a newer schoolsync
    ├── NoDirectoryError            there is no directory at the database URL (read-only
    │                               commands never create one)
    ├── DirectoryBusyError          another sync holds the directory
    ├── NotFoundError               a run, user, class or group named on the command line
    ├── ConflictError               a command would break the directory (e.g. a rekey onto a
    │                               number that is taken)
    ├── ExportError                 an export's files cannot be written (OneRoster, SDS)
    └── OutputError                 stdout cannot be written (a full device)
"""

from __future__ import annotations


class SchoolsyncError(Exception):
    """Base class: a failure with a message for the administrator.

    Attributes:
        message: What is wrong and where, as a sentence.
        hint: What to do about it, as a sentence (may be empty).
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class InputError(SchoolsyncError):
    """A source file or directory cannot be read as the format it claims to be."""

    def __init__(
        self,
        message: str,
        hint: str = "",
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = path
            if line is not None:
                where += f", line {line}"
                if column is not None:
                    where += f", column {column}"
            message = f"{where}: {message}"
        super().__init__(message, hint)
        self.path = path
        self.line = line
        self.column = column


class ConfigError(SchoolsyncError):
    """The settings file (schoolsync.toml) is missing a value, has a wrong one, or is not TOML."""


class DatabaseError(SchoolsyncError):
    """The directory database cannot be reached or refused a write. Nothing was applied."""


class NewerDirectoryError(DatabaseError):
    """The directory's schema revision is unknown to this schoolsync: a newer one wrote it."""


class NoDirectoryError(SchoolsyncError):
    """There is no schoolsync directory at the database URL; only sync, demo and init make one."""


class OutputError(SchoolsyncError):
    """The output (stdout) could not be written: a full device, or a pipe closed by its reader.

    Attributes:
        broken_pipe: True when the reader closed the pipe (``| head``).
        reason: The operating system's words for the failure.
    """

    def __init__(
        self, message: str, hint: str = "", *, broken_pipe: bool = False, reason: str = ""
    ) -> None:
        super().__init__(message, hint)
        self.broken_pipe = broken_pipe
        self.reason = reason


class DirectoryBusyError(SchoolsyncError):
    """Another sync run holds the directory."""


class NotFoundError(SchoolsyncError):
    """Something named on the command line does not exist in the directory."""


class ExportError(SchoolsyncError):
    """The files of an export cannot be written where they were asked for."""


class ConflictError(SchoolsyncError):
    """A command would leave the directory inconsistent, so it was not carried out."""
