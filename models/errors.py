"""The exception hierarchy shared by the library and the daemon.

Faults are raised where they are understood and translated once at each edge
(CLI exit code, API status, job status), so every class carries the exit code
the CLI uses for it.
"""

from __future__ import annotations


class ReamendError(Exception):
    """Base of every error reamend raises on purpose."""

    exit_code = 1


class UserInputError(ReamendError):
    """The caller asked for something impossible: bad gap list, bad option value."""

    exit_code = 2


class AudioFileError(UserInputError):
    """An audio file is missing, unreadable, corrupt or in an unsupported format."""

    exit_code = 3


class PresetError(UserInputError):
    """A preset file or name is invalid; the message names file, field and allowed values."""

    exit_code = 4


class ModelError(ReamendError):
    """Model weights are missing, corrupt (checksum mismatch) or incompatible."""

    exit_code = 5


class ServiceUnavailableError(ReamendError):
    """The daemon or REAPER cannot be reached; a normal, reportable state."""

    exit_code = 6


class CancelledError(ReamendError):
    """A job was cancelled through its cancel token."""

    exit_code = 130
