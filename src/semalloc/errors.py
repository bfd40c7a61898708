"""The one exception type for bad input (an instance, a solution, an option), and the
signal of an algorithm that ran out of time before it had any allocation."""
from __future__ import annotations

__all__ = ["InputError", "TimeLimit", "RenamedWarning"]


class InputError(ValueError):
    """Input that semalloc refuses, with the offending field named.

    The command line prints ``str(err)`` as one line and exits with code 2.

    Examples
    --------
    >>> str(InputError("devices.energy_j[3]", "must be >= 0, got -1", problem="multicell"))
    'multicell: devices.energy_j[3]: must be >= 0, got -1'
    """

    def __init__(self, field: str, reason: str, problem: str | None = None):
        self.field, self.reason, self.problem = field, reason, problem
        prefix = f"{problem}: " if problem else ""
        super().__init__(f"{prefix}{field}: {reason}")

    def __reduce__(self):
        # pickled whole: an InputError raised in a sweep worker (a process, a Dask worker) reaches the caller
        return type(self), (self.field, self.reason, self.problem)

    def renamed(self, fields: dict[str, str]) -> InputError:
        """This error naming ``fields[field]`` instead of its field (e.g. an option as the
        command-line flag or spec field that gave it); itself if its field is not listed.

        Examples
        --------
        >>> str(InputError("x", "not a varied setting").renamed({"x": "--x"}))
        '--x: not a varied setting'
        """
        if self.field not in fields:
            return self
        return type(self)(fields[self.field], self.reason, self.problem)


class TimeLimit(Exception):
    """Raised by an algorithm whose ``time_limit`` ran out before it had any
    allocation to return; :func:`semalloc.solve` reports it as status
    ``time_limit`` (an algorithm that has one returns it with that status instead)."""


class RenamedWarning(DeprecationWarning):
    """An old name of a generator setting, an algorithm option or a stats key
    was used; the message names the new one (:data:`semalloc.solve.RENAMED`,
    docs/vocabulary.md). The old names work for one release. The command line
    prints it as one ``warning:`` line on stderr and goes on."""
