"""How every command of the command line ends on bad input: one line on
stderr that names the field or option, and exit code 2 (never a traceback),
with no output file written or changed.

- :func:`exits_2_on_bad_input` wraps a command's body: an :class:`InputError`
  (and input that breaks the parser: nesting too deep, a number too large)
  becomes ``error: ...`` and exit 2; an ``-o``/``--output`` path that cannot
  be written is refused before any work; anything else, a bug, becomes one
  ``error: internal error ...`` line and exit 1 (``SEMALLOC_DEBUG=1`` shows
  the traceback).
- :func:`run_app` runs the Typer app so that its usage errors (a missing
  argument, an unknown verb, ``--seed abc``) are one line and exit 2 too,
  instead of Typer's boxed message; an old name of a setting, option or
  stats key (:class:`~semalloc.errors.RenamedWarning`) is one ``warning:``
  line on stderr, once per name, and the command goes on.

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
>>> check_output_path("/")
Traceback (most recent call last):
...
semalloc.errors.InputError: -o: '/' is a directory; name a file
"""
from __future__ import annotations

import functools
import os
import sys
import warnings
from pathlib import Path

import typer
import yaml

try:                                     # typer >= 0.16 carries its own copy of click
    from typer._click import exceptions as click
except ImportError:                      # pragma: no cover
    from click import exceptions as click

_EXITS = tuple({typer.Exit, getattr(click, "Exit", typer.Exit)})
_ABORTS = tuple({getattr(typer, "Abort", KeyboardInterrupt), getattr(click, "Abort", KeyboardInterrupt)})

from .errors import InputError, RenamedWarning
from .schema import numbers_from_text

__all__ = ["exits_2_on_bad_input", "check_output_path", "check_not_an_input", "parse_sets", "run_app",
           "OUTPUT_PARAMS"]

#: Names of the verbs' file-output parameters (``-o/--out``; ``--output`` the old name).
OUTPUT_PARAMS = ("out_", "out", "output")


def check_output_path(path, option: str = "-o") -> None:
    """Refuse (:class:`InputError` naming ``option``) an output path that is a
    directory, lies under a file, or is not writable, before any work is done.
    Missing parent directories are fine (they are created on writing); ``-``
    is standard output."""
    if str(path) == "-":
        return
    p = Path(os.path.expanduser(str(path)))
    if p.is_dir():
        raise InputError(option, f"{str(path)!r} is a directory; name a file")
    if p.exists():
        if not p.is_file():                                     # a file is written beside it and renamed over
            raise InputError(option, f"{str(path)!r} is not a regular file (a device, pipe or socket, which "
                                     "writing would replace); name a file")
        if not os.access(p, os.W_OK):
            raise InputError(option, f"{str(path)!r} is not writable")
        return
    parent = p.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(option, f"cannot create {str(path)!r}: {str(parent)!r} is a file, not a directory")
    probe = parent / f".semalloc-probe-{os.getpid()}"          # os.access says yes to root everywhere
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        os.unlink(probe)
    except OSError as e:
        raise InputError(option, f"cannot create {str(path)!r}: directory {str(parent)!r} is not writable "
                                 f"({e.strerror})") from None


def check_not_an_input(path, inputs: dict, option: str = "-o") -> None:
    """Refuse an output path that is one of the command's input files (``inputs``: name -> path), which
    writing would replace (``solve i.json -o i.json``, ``export s.db -o s.db``)."""
    if str(path) == "-" or not Path(path).exists():
        return
    for name, given in inputs.items():
        try:
            same = Path(given).is_file() and os.path.samefile(path, given)
        except OSError:
            same = False
        if same:
            raise InputError(option, f"{str(path)!r} is the input {name.rstrip('_')} ({str(given)!r}), which "
                                     "writing would replace; name another file")


def _quiet_stdout() -> None:
    """Point standard output at the null device, so that flushing it at exit after a broken pipe is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):                               # no real stdout (captured): nothing to flush
        pass


def _fail(message: str, code: int):
    typer.echo(f"error: {' '.join(message.split())}", err=True)      # one line, whatever the message holds
    raise typer.Exit(code)


def exits_2_on_bad_input(extra: str | None = None):
    """Decorator: an :class:`InputError` (and, with ``extra``, the ImportError of
    that optional extra's packages) becomes ``error: ...`` on stderr and exit 2;
    the output arguments (:data:`OUTPUT_PARAMS`) are checked with :func:`check_output_path` first."""
    def deco(fn):
        @functools.wraps(fn)
        def run(*a, **k):
            try:
                inputs = {n: v for n, v in k.items() if isinstance(v, Path) and n not in OUTPUT_PARAMS}
                for name in OUTPUT_PARAMS:
                    if k.get(name) is not None:
                        check_output_path(k[name])
                        check_not_an_input(k[name], inputs)
                return fn(*a, **k)
            except (*_EXITS, *_ABORTS, KeyboardInterrupt, SystemExit):
                raise
            except BrokenPipeError:                             # the reader went away (`... -o - | head`)
                _quiet_stdout()
                raise typer.Exit(0) from None
            except InputError as e:
                message = str(e)
            except ImportError as e:
                if extra is None:
                    raise
                message = f"{e.name or e}: needs the {extra} extra: pip install 'semalloc[{extra}]'"
            except RecursionError:
                message = "input nested too deeply to read"
            except MemoryError:
                message = "out of memory: the input is too large for this machine (see docs/reliability.md)"
            except Exception as e:                                  # noqa: BLE001 -- a bug, said in one line
                if os.environ.get("SEMALLOC_DEBUG"):
                    raise
                _fail(f"internal error ({type(e).__name__}: {e}); please report it "
                      "(SEMALLOC_DEBUG=1 shows the traceback)", 1)
            _fail(message, 2)
        return run
    return deco


def run_app(app: typer.Typer, argv: list[str] | None = None) -> int:
    """Run ``app`` on ``argv`` (default ``sys.argv[1:]``) and return its exit
    code; Click's usage errors are one ``error:`` line and code 2, a
    :class:`~semalloc.errors.RenamedWarning` one ``warning:`` line."""
    with warnings.catch_warnings():
        warnings.filterwarnings("once", category=RenamedWarning)
        shown = warnings.showwarning

        def show(message, category, *args, **kwargs):
            if issubclass(category, RenamedWarning):
                typer.echo(f"warning: {' '.join(str(message).split())}", err=True)
            else:
                shown(message, category, *args, **kwargs)
        warnings.showwarning = show
        return _run(app, argv)


def _run(app: typer.Typer, argv: list[str] | None) -> int:
    try:
        code = app(args=argv, standalone_mode=False, prog_name="semalloc")
    except click.NoArgsIsHelpError as e:           # bare `semalloc` (or a bare group): its help
        typer.echo(e.ctx.get_help() if e.ctx else str(e))
        return 2
    except click.UsageError as e:
        where = f"{e.ctx.command_path}: " if e.ctx is not None else ""
        typer.echo(f"error: {where}{' '.join(e.format_message().split())}", err=True)
        return 2
    except click.ClickException as e:
        typer.echo(f"error: {' '.join(e.format_message().split())}", err=True)
        return e.exit_code
    except _EXITS as e:
        return e.exit_code
    except _ABORTS:
        typer.echo("aborted", err=True)
        return 130
    except BrokenPipeError:                                      # `semalloc ... | head`
        sys.stderr.close()
        return 141
    if code == 130:                 # Ctrl-C: Typer turns KeyboardInterrupt into Exit(130) and returns its code
        typer.echo("aborted", err=True)
    return code if isinstance(code, int) else 0


def parse_sets(pairs: list[str]) -> dict:
    """``--set KEY=VALUE`` options (every verb's) as a dict, each value read as YAML
    (numbers, lists, text); a malformed pair is an :class:`InputError` naming it.

    >>> parse_sets(["devices=30", "rbs=[10, 20]", "utility=inverse_error"])
    {'devices': 30, 'rbs': [10, 20], 'utility': 'inverse_error'}
    """
    settings = {}
    for pair in pairs:
        if "=" not in pair:
            raise InputError("--set", f"expected KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        if key.strip() in settings:                 # the last one silently won
            raise InputError(f"--set {key.strip()}", "given twice")
        try:
            settings[key.strip()] = numbers_from_text(yaml.safe_load(value))
        except yaml.YAMLError:
            raise InputError(f"--set {key}", f"cannot parse value {value!r}") from None
    return settings
