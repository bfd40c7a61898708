"""Finding plugins: modules that register algorithms or problems with
:func:`semalloc.register_algorithm` / :func:`semalloc.register_problem`.

A plugin is found in three ways (docs/plugins.md):

* an installed package that declares an entry point in the group
  ``semalloc.plugins`` (``[project.entry-points."semalloc.plugins"]`` in its
  ``pyproject.toml``), loaded once, lazily, on the first look-up of a
  problem (:func:`semalloc.get_problem`); an entry point naming a module
  imports it, one naming a function imports and calls it;
* ``semalloc --plugin MODULE VERB ...`` (repeatable) on the command line;
* ``plugins: [MODULE, ...]`` in a sweep spec, which every worker (local
  processes, Dask) imports before it runs a task.

A plugin named by ``--plugin`` or a spec that cannot be imported is an
:class:`~semalloc.errors.InputError` naming it; an installed entry point
that fails to load is a warning (one broken package does not stop
semalloc), and its algorithms are then unknown.

Examples
--------
>>> from semalloc.plugins import load_plugin
>>> load_plugin("no_such_plugin", "--plugin")
Traceback (most recent call last):
...
semalloc.errors.InputError: --plugin: cannot import plugin 'no_such_plugin': ModuleNotFoundError: No module named 'no_such_plugin'
"""
from __future__ import annotations

import importlib
import importlib.metadata
import traceback
import warnings

from .errors import InputError

__all__ = ["ENTRY_POINT_GROUP", "load_plugin", "load_entry_points", "imported"]

#: The entry-point group an installed plugin declares.
ENTRY_POINT_GROUP = "semalloc.plugins"

_imported: list[str] = []          # modules named by --plugin or a spec, in order, for the workers
_entry_points_loaded = False


def load_plugin(module: str, where: str = "--plugin", remember: bool = False):
    """Import plugin ``module`` (a dotted name on ``sys.path``) and return it.

    ``where`` names the input on an error (``--plugin``, ``spec.plugins[0]``).
    With ``remember`` (``--plugin``, for the whole process) the module is kept
    in :func:`imported` so that every later sweep's workers import it too; a
    spec's plugins travel with the spec instead, so one spec's plugins never
    leak into another's workers.
    """
    if not isinstance(module, str) or not module.strip():
        raise InputError(where, f"must be a module name, got {module!r}")
    try:
        mod = importlib.import_module(module.strip())
    except InputError as e:            # the plugin's own registration refused (e.g. a name taken)
        raise InputError(where, f"plugin {module!r}: {e}") from None
    except Exception as e:             # noqa: BLE001 -- any import failure is the plugin's, named
        raise InputError(where, f"cannot import plugin {module!r}: {type(e).__name__}: {e}") from None
    if remember and module.strip() not in _imported:
        _imported.append(module.strip())
    return mod


def imported() -> list[str]:
    """The plugin modules of ``--plugin`` (:func:`load_plugin` with ``remember``), in order."""
    return list(_imported)


def load_entry_points() -> None:
    """Load every installed ``semalloc.plugins`` entry point, once per process."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True        # first: a plugin that looks up a problem while loading does not recurse
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            if callable(obj):
                obj()
        except Exception as e:         # noqa: BLE001 -- a broken installed plugin must not break semalloc
            where = traceback.extract_tb(e.__traceback__)[-1]
            warnings.warn(f"semalloc plugin {ep.name!r} ({ep.value}) failed to load: {type(e).__name__}: {e} "
                          f"({where.filename}:{where.lineno})", RuntimeWarning, stacklevel=2)
