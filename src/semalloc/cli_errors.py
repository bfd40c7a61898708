"""How every command of the command line ends on bad input: one line on
stderr that names the field, and exit code 2 (never a traceback).

Examples
--------
>>> import typer
>>> from semalloc.errors import InputError
>>> @exits_2_on_bad_input()
... def cmd():
...     raise InputError("devices", "must be positive")
>>> try:
...     cmd()
... except typer.Exit as e:
...     e.exit_code
2
"""
from __future__ import annotations

import functools

import typer

from .errors import InputError

__all__ = ["exits_2_on_bad_input"]


def exits_2_on_bad_input(extra: str | None = None):
    """Decorator: an :class:`InputError` (and, with ``extra``, the ImportError of
    that optional extra's packages) becomes ``error: ...`` on stderr and exit 2."""
    def deco(fn):
        @functools.wraps(fn)
        def run(*a, **k):
            try:
                return fn(*a, **k)
            except InputError as e:
                message = str(e)
            except ImportError as e:
                if extra is None:
                    raise
                message = f"{e.name or e}: needs the {extra} extra: pip install 'semalloc[{extra}]'"
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(2)
        return run
    return deco
