"""Schemas as data: declarative field tables that validate JSON into numpy arrays.

A schema is a dict from field name to a :class:`Field` (or a nested dict, a
group such as ``devices``). Array fields declare their shape with symbolic
dimensions (``("N", "M")``); a dimension is fixed by the first field that uses
it, and every later field must agree. Validation rejects missing and extra
fields, wrong shapes, NaN/inf, out-of-range values and wrong types, raising
:class:`~semalloc.errors.InputError` that names the field.

Examples
--------
>>> schema = {"deadline_s": Field(lo=0, strict=True),
...           "devices": {"energy_j": Field(dims=("N",), lo=0)}}
>>> data = validate(schema, {"deadline_s": 0.01, "devices": {"energy_j": [1e-3, 2e-3]}}, "demo")
>>> data["devices"]["energy_j"]
array([0.001, 0.002])
>>> validate(schema, {"deadline_s": 0.01, "devices": {"energy_j": [-1.0]}}, "demo")
Traceback (most recent call last):
...
semalloc.errors.InputError: demo: devices.energy_j[0]: must be >= 0, got -1.0
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError

__all__ = ["Field", "validate", "to_jsonable", "numbers_from_text", "check_index", "Table", "SchemaInstance",
           "read_json_object", "loads_json", "MAX_JSON_DEPTH"]


@dataclass(frozen=True)
class Field:
    """One field: a scalar (``dims=()``) or an array with symbolic ``dims``.

    ``kind`` is ``"float"``, ``"int"`` or ``"str"``; ``lo``/``hi`` bound the
    values (``strict`` makes ``lo`` exclusive); ``choices`` restricts strings
    (or ints); ``doc`` and ``unit`` feed docs/formats.md.
    """

    dims: tuple[str, ...] = ()
    kind: str = "float"
    lo: float | None = None
    hi: float | None = None
    strict: bool = False
    choices: tuple | None = None
    unit: str = ""
    doc: str = ""


class Table(dict):
    """A dict whose keys are also attributes (``inst.devices.energy_j``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _where(path: str, idx: tuple) -> str:
    return path + "".join(f"[{i}]" for i in idx)


def _check_strings(f: Field, value: Any, path: str, dims: dict, problem: str) -> Any:
    if isinstance(value, (np.ndarray, tuple)):
        value = list(value)
    items = value if f.dims else [value]
    if f.dims:
        if not isinstance(value, list):
            raise InputError(path, "must be a list of strings", problem)
        d = f.dims[0]
        if not value:
            raise InputError(path, f"must not be empty (at least one item along {d})", problem)
        if d in dims and dims[d][0] != len(value):
            raise InputError(path, f"length {len(value)} does not match {d} = {dims[d][0]} (from {dims[d][1]})", problem)
        dims.setdefault(d, (len(value), path))
    for i, v in enumerate(items):
        where = _where(path, (i,)) if f.dims else path
        if not isinstance(v, str):
            raise InputError(where, f"must be a string, got {type(v).__name__}", problem)
        if f.choices and v not in f.choices:
            raise InputError(where, f"must be one of {', '.join(map(str, f.choices))}; got {v!r}", problem)
    return np.array(value, dtype=object) if f.dims else value


def _first_bool(value: Any, idx: tuple = (), depth: int = 0) -> tuple | None:
    """The index of the first ``true``/``false`` (a Python bool, as JSON gives
    them) in nested lists (bounded depth), or None. numpy arrays come from code,
    not from files, and are taken as they are."""
    if isinstance(value, bool):
        return idx
    if isinstance(value, (list, tuple)) and depth < 8:
        for i, v in enumerate(value):
            hit = _first_bool(v, idx + (i,), depth + 1)
            if hit is not None:
                return hit
    return None


#: The smallest positive normal float: an instance's number nearer 0 than it (a subnormal) loses precision
#: in every product, so that certified answers came out wrong (offloading ``exact`` "optimal" below a
#: heuristic at a FLOP count of 5e-324) or algorithms rejected their own output.
NORMAL_MIN = float(np.finfo(float).tiny)


def _check_array(f: Field, value: Any, path: str, dims: dict, problem: str, normal: bool = False) -> Any:
    if f.kind == "str":
        return _check_strings(f, value, path, dims, problem)
    what = "a number" if not f.dims else f"a numeric array with shape ({', '.join(f.dims)})"
    boolean = _first_bool(value)
    if boolean is not None:                                 # true/false are not 1/0
        raise InputError(_where(path, boolean), f"must be {'a number' if f.dims else what}, got a boolean", problem)
    try:
        if np.asarray(value).dtype.kind == "c":            # numpy would keep the real part, silently
            arr = None
        elif np.asarray(value).dtype.kind in "USV":         # "0.01" is text, not a number
            raise TypeError
        else:
            arr = np.asarray(value, dtype=float)
    except OverflowError:                                   # an integer with hundreds of digits
        raise InputError(path, f"must be {what} within float range (|x| < 1.8e308)", problem) from None
    except (TypeError, ValueError, RecursionError):
        raise InputError(path, f"must be {what}", problem) from None
    if arr is None:
        raise InputError(path, f"must be {what} of real numbers, got a complex number", problem)
    if arr.dtype == object or (not f.dims and arr.ndim != 0):
        raise InputError(path, f"must be {what}", problem)
    if arr.ndim != len(f.dims):
        raise InputError(path, f"must have {len(f.dims)} dimension(s) ({', '.join(f.dims)}), got {arr.ndim}", problem)
    for axis, (d, size) in enumerate(zip(f.dims, arr.shape)):
        if size == 0:
            raise InputError(path, f"must not be empty (at least one item along {d})", problem)
        if d.isdigit():
            if size != int(d):
                raise InputError(path, f"axis {axis} must have length {d}, got {size}", problem)
        elif d in dims and dims[d][0] != size:
            raise InputError(path, f"length {size} does not match {d} = {dims[d][0]} (from {dims[d][1]})", problem)
        else:
            dims.setdefault(d, (size, path))
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(_where(path, idx), f"must be finite, got {arr[idx]}", problem)
    if normal:
        tiny = (arr != 0) & (np.abs(arr) < NORMAL_MIN)
        if tiny.any():
            idx = tuple(int(i) for i in np.argwhere(tiny)[0])
            raise InputError(_where(path, idx), f"must be 0 or at least {NORMAL_MIN:.3g} in magnitude (a normal "
                             f"float), got {arr[idx]:g}", problem)
    if f.kind == "int":
        frac = arr != np.round(arr)
        if frac.any():
            idx = tuple(int(i) for i in np.argwhere(frac)[0])
            raise InputError(_where(path, idx), f"must be an integer, got {arr[idx]}", problem)
        huge = np.abs(arr) >= 2.0**63
        if huge.any():
            idx = tuple(int(i) for i in np.argwhere(huge)[0])
            raise InputError(_where(path, idx), f"must be an integer below 2^63 in magnitude, got {arr[idx]:g}", problem)
        arr = arr.astype(np.int64)
    for bound, op, text in ((f.lo, (np.less_equal if f.strict else np.less), (">" if f.strict else ">=")),
                            (f.hi, np.greater, "<=")):
        if bound is None:
            continue
        viol = op(arr, bound)
        if viol.any():
            idx = tuple(int(i) for i in np.argwhere(viol)[0])
            raise InputError(_where(path, idx), f"must be {text} {bound:g}, got {arr[idx]}", problem)
    if f.choices is not None:
        viol = ~np.isin(arr, f.choices)
        if viol.any():
            idx = tuple(int(i) for i in np.argwhere(viol)[0])
            raise InputError(_where(path, idx), f"must be one of {list(f.choices)}, got {arr[idx]}", problem)
    if not f.dims:
        return int(arr) if f.kind == "int" else float(arr)
    return arr


def validate(schema: dict, data: Any, problem: str, *, prefix: str = "", dims: dict | None = None,
             ignore: tuple[str, ...] = (), optional: tuple[str, ...] = (), normal: bool = False) -> Table:
    """Check ``data`` (parsed JSON) against ``schema``; return a :class:`Table` of arrays.

    ``ignore`` names top-level keys that are allowed and skipped (``"problem"``);
    ``optional`` names top-level fields that may be absent (``"scenario"``); ``normal``: numbers must be 0
    or normal floats (an instance's; :data:`NORMAL_MIN`), not subnormal.
    Raises :class:`InputError` naming the first offending field.
    """
    dims = {} if dims is None else dims
    where = prefix.rstrip(".") or "instance"
    if not isinstance(data, dict):
        raise InputError(where, f"must be a JSON object, got {type(data).__name__}", problem)
    odd = next((k for k in data if not isinstance(k, str)), None)
    if odd is not None:                                    # JSON keys are text; a Python caller's may not be
        raise InputError(f"{prefix}{odd!r}", f"field names must be text, got {type(odd).__name__}", problem)
    extra = sorted(set(data) - set(schema) - set(ignore))
    if extra:
        raise InputError(prefix + extra[0], "unknown field", problem)
    out = Table()
    for name, spec in schema.items():
        path = prefix + name
        if name not in data:
            if name in optional:
                continue
            raise InputError(path, "missing field", problem)
        if isinstance(spec, dict):
            out[name] = validate(spec, data[name], problem, prefix=path + ".", dims=dims, normal=normal)
        else:
            out[name] = _check_array(spec, data[name], path, dims, problem, normal)
    return out


def check_index(field: str, index: np.ndarray, n: int, what: str, problem: str) -> None:
    """Refuse an index array with an entry ``>= n`` (``n`` the number of ``what``), naming the entry.

    >>> check_index("devices.application", np.array([0, 2]), 3, "applications", "multicell")
    """
    bad = np.nonzero(np.asarray(index) >= n)[0]
    if len(bad):
        raise InputError(f"{field}[{bad[0]}]", f"must be < {n} (number of {what}), got {index[bad[0]]}", problem)


def numbers_from_text(value: Any) -> Any:
    """Read numbers written as text: YAML 1.1 (PyYAML) reads ``20e6`` and ``1e-3``
    as strings; in settings typed by people they are numbers. Lists are
    converted item by item; other text is left alone.

    >>> numbers_from_text("20e6"), numbers_from_text(["1e-3", 2]), numbers_from_text("accuracy")
    (20000000.0, [0.001, 2], 'accuracy')
    """
    if isinstance(value, list):
        return [numbers_from_text(v) for v in value]
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def to_jsonable(obj: Any) -> Any:
    """Nested dicts/lists of numpy arrays and scalars to plain JSON types."""
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


class SchemaInstance:
    """Base of every problem's instance: validated arrays behind attributes.

    Subclasses set ``problem`` (the key), ``SCHEMA`` and may override
    :meth:`check` for cross-field rules. ``inst.devices.energy_j`` reads the
    validated array; :meth:`to_dict` gives the JSON file's content.
    """

    problem: str = ""
    SCHEMA: dict = {}
    #: Top-level fields that may be absent (files written before they existed still load).
    OPTIONAL: tuple[str, ...] = ()

    def __init__(self, data: Table):
        self.data = data

    def __getattr__(self, name: str) -> Any:
        if name == "data":
            raise AttributeError(name)
        try:
            return self.data[name]
        except KeyError:
            raise AttributeError(name) from None

    @classmethod
    def from_dict(cls, raw: dict):
        """Validate parsed JSON (with its ``"problem"`` key) into an instance."""
        if isinstance(raw, dict) and raw.get("problem", cls.problem) != cls.problem:
            raise InputError("problem", f"expected {cls.problem!r}, got {raw.get('problem')!r}", cls.problem)
        data = validate(cls.SCHEMA, raw, cls.problem, ignore=("problem",), optional=cls.OPTIONAL, normal=True)
        cls.check(data)
        return cls(data)

    @classmethod
    def check(cls, data: Table) -> None:
        """Cross-field validation; raise :class:`InputError`."""

    def to_dict(self) -> dict:
        return {"problem": self.problem, **to_jsonable(self.data)}


#: Deepest nesting of arrays and objects a JSON input may have (the deepest
#: field, ``gain`` of offloading, has 3 levels inside 1 object).
MAX_JSON_DEPTH = 32


def _json_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` outside strings, without recursion: a
    vectorised count that ignores strings first, the exact scan only when that
    count is over the limit."""
    code = np.frombuffer(text.encode("utf-8", "replace"), dtype=np.uint8)
    step = np.isin(code, (91, 123)).astype(np.int64) - np.isin(code, (93, 125))
    if not len(step) or np.cumsum(step).max() <= MAX_JSON_DEPTH:
        return int(np.cumsum(step).max()) if len(step) else 0
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _no_duplicates(pairs: list) -> dict:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        dup = next(k for i, k in enumerate(keys) if k in keys[:i])
        raise _DuplicateKey(dup)
    return dict(pairs)


class _DuplicateKey(Exception):
    pass


def loads_json(text: str, field: str, problem: str | None = None) -> Any:
    """Parse JSON text strictly: an :class:`InputError` naming ``field`` for
    nesting deeper than :data:`MAX_JSON_DEPTH`, a key repeated in one object,
    or a number that Python refuses (an integer of more than 4300 digits).

    Examples
    --------
    >>> loads_json('{"a": 1, "a": 2}', "instance.json")
    Traceback (most recent call last):
    ...
    semalloc.errors.InputError: instance.json: key 'a' appears twice in one JSON object
    >>> loads_json("[" * 100 + "]" * 100, "x.json")
    Traceback (most recent call last):
    ...
    semalloc.errors.InputError: x.json: nested 100 levels deep; at most 32 allowed
    """
    deepest = _json_depth(text)
    if deepest > MAX_JSON_DEPTH:
        raise InputError(field, f"nested {deepest} levels deep; at most {MAX_JSON_DEPTH} allowed", problem)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as dup:
        raise InputError(field, f"key {dup.args[0]!r} appears twice in one JSON object", problem) from None
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as err:             # e.g. "Exceeds the limit (4300 digits)"
        raise InputError(field, f"not valid JSON ({err})", problem) from None


def read_json_object(path, field: str, what: str, problem: str | None = None) -> dict:
    """The JSON object in file ``path``; an :class:`InputError` naming ``field``
    when the file is missing, unreadable, not JSON or not a JSON object.

    Examples
    --------
    >>> read_json_object("/no/such.json", "profile", "profile")
    Traceback (most recent call last):
    ...
    semalloc.errors.InputError: profile: profile file '/no/such.json' not found
    """
    try:
        data = loads_json(Path(str(path)).expanduser().read_text(), field, problem)
    except FileNotFoundError:
        raise InputError(field, f"{what} file {str(path)!r} not found", problem) from None
    except IsADirectoryError:
        raise InputError(field, f"{str(path)!r} is a directory, not a {what} file", problem) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(field, f"not a JSON {what} file: {str(path)!r} ({err})", problem) from None
    if not isinstance(data, dict):
        raise InputError(field, f"{what} file {str(path)!r} must hold a JSON object", problem)
    return data
