"""The one exception type for bad input (an instance, a solution, an option)."""
from __future__ import annotations

__all__ = ["InputError"]


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
