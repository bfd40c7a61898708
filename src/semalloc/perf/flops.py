"""FLOP counts of convolutional networks with early exits (Zheng et al., eqs. 4-6).

A network is described as data: a trunk of :class:`Conv` and :class:`Dense`
layers and the side exits (:class:`Exit`) that branch off it. The count of a
convolution with ``L`` filters of shape ``k_w x k_h`` on ``A`` feature maps of
``C`` channels and output shape ``W_out x H_out`` is ``2 A L C k_w k_h W_out
H_out`` (Sec. II-C); with stride 1 and no padding ``W_out = W_in - k_w + 1``,
the paper's case, and in general ``floor((W_in + 2 p - k_w) / s) + 1``. A
fully connected layer costs ``2 x inputs x outputs`` (one multiply and one add
per weight, as for the convolution; eq. 4 writes ``inputs x outputs``;
docs/models.md, "FLOP model"). Pooling changes shapes only and costs nothing.
The input channels of a layer are the filters of the layer before it (the
paper writes the task's ``C_i`` in every layer; docs/models.md, "FLOP model").

Shapes broadcast: ``W`` and ``H`` may be arrays (one entry per task), and
every count comes back with their shape.

Examples
--------
>>> import numpy as np
>>> from semalloc.perf.flops import Conv, Dense, Exit, Network, flops, exit_flops
>>> float(flops([Conv(96, 3)], (3, 224, 224)))         # 2 * 96 * 3 * 9 * 222 * 222
255488256.0
>>> net = Network(trunk=(Conv(8, 3), Conv(8, 3), Dense(10)), exits=(Exit(after=1, layers=(Dense(10),)),))
>>> exit_flops(net, (3, np.array([32, 64]), np.array([32, 64]))).shape   # (exit points, tasks)
(2, 2)
>>> bool((np.diff(exit_flops(net, (3, 32, 32))) > 0).all())           # later exits cost more
True
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..schema import read_json_object

__all__ = ["Conv", "Dense", "Exit", "Network", "layer_flops", "flops", "exit_flops", "output_shape",
           "network_to_dict", "network_from_dict", "ExitProfile", "load_exit_profile", "DEEPJSCC_ENCODER",
           "DEEPJSCC_DECODER"]


@dataclass(frozen=True)
class Conv:
    """``filters`` (L^d) convolution filters of shape ``kernel`` (int or (k_w, k_h)),
    then an optional max pooling of window ``pool`` and stride ``pool_stride``."""

    filters: int
    kernel: int | tuple[int, int]
    stride: int = 1
    padding: int = 0
    pool: int = 1
    pool_stride: int | None = None


@dataclass(frozen=True)
class Dense:
    """A fully connected layer with ``units`` outputs, on the flattened input."""

    units: int


@dataclass(frozen=True)
class Exit:
    """A side exit: ``layers`` applied to the output of the first ``after`` trunk layers."""

    after: int
    layers: tuple


@dataclass(frozen=True)
class Network:
    """A trunk (its end is the final exit point) and side exits, in trunk order."""

    trunk: tuple
    exits: tuple = ()

    @property
    def exit_points(self) -> int:
        """Number of exit points M: the side exits plus the final one."""
        return len(self.exits) + 1


#: DeepJSCC-V-like semantic extraction/compression network (Zheng et al., Sec. IV-A: 5 conv + 5 FC
#: layers) on 3 x 32 x 32 (CIFAR-10) input; its output is 8 x 8 x 8 before the FC layers.
DEEPJSCC_ENCODER = (Conv(16, 5, stride=2, padding=2), Conv(32, 5, stride=2, padding=2), Conv(32, 5, padding=2),
                    Conv(32, 5, padding=2), Conv(8, 5, padding=2), Dense(256), Dense(128), Dense(64), Dense(128),
                    Dense(256))
#: DeepJSCC-V-like semantic reconstruction network (5 conv + 5 FC) on 8 x 8 x 8 input.
DEEPJSCC_DECODER = (Conv(32, 5, padding=2), Conv(32, 5, padding=2), Conv(32, 5, padding=2), Conv(16, 5, padding=2),
                    Conv(3, 5, padding=2), Dense(64), Dense(64), Dense(32), Dense(64), Dense(10))


def _pair(k) -> tuple[int, int]:
    return (k, k) if np.ndim(k) == 0 else (int(k[0]), int(k[1]))


def layer_flops(layer, shape) -> tuple[np.ndarray, tuple]:
    """FLOPs of one layer on input ``shape`` = ``(channels, W, H)`` or ``(features,)``;
    returns ``(flops, output shape)``. Entries of ``shape`` may be arrays."""
    if isinstance(layer, Dense):
        features = np.prod(np.broadcast_arrays(*shape), axis=0) if len(shape) > 1 else shape[0]
        return 2.0 * np.asarray(features, dtype=float) * layer.units, (layer.units,)
    channels, w, h = shape
    kw, kh = _pair(layer.kernel)
    w_out = (np.asarray(w) + 2 * layer.padding - kw) // layer.stride + 1
    h_out = (np.asarray(h) + 2 * layer.padding - kh) // layer.stride + 1
    if np.any(w_out < 1) or np.any(h_out < 1):
        raise ValueError(f"input {w}x{h} is smaller than the {kw}x{kh} filter")
    count = 2.0 * layer.filters * channels * kw * kh * w_out * h_out          # eqs. 4-6, conv term
    if layer.pool > 1:
        ps = layer.pool_stride or layer.pool
        w_out, h_out = (w_out - layer.pool) // ps + 1, (h_out - layer.pool) // ps + 1
    return np.asarray(count, dtype=float), (layer.filters, w_out, h_out)


def output_shape(layers, shape) -> tuple:
    """Shape after ``layers`` (a sequence) on input ``shape``."""
    for layer in layers:
        shape = layer_flops(layer, shape)[1]
    return shape


def flops(layers, shape, maps: int = 1) -> np.ndarray:
    """Total FLOPs of ``layers`` in series on ``maps`` (A_i) inputs of ``shape`` (eqs. 5, 6)."""
    total = 0.0
    for layer in layers:
        count, shape = layer_flops(layer, shape)
        total = total + count
    return maps * np.asarray(total, dtype=float)


def exit_flops(net: Network, shape, maps: int = 1) -> np.ndarray:
    """FLOPs of a task leaving at each exit point (eq. 4): the trunk up to the
    branch, then the branch; shape ``(M,) + broadcast shape of the input``.

    The last entry is the full trunk. A task that leaves at exit ``m`` pays
    only the layers on its path (eq. 4); the side branches it passed are not
    counted (docs/models.md, "FLOP model").
    """
    out, done, trunk_cost = [], 0, 0.0
    for ex in sorted(net.exits, key=lambda e: e.after):
        trunk_cost = trunk_cost + flops(net.trunk[done:ex.after], shape)
        shape, done = output_shape(net.trunk[done:ex.after], shape), ex.after
        out.append(trunk_cost + flops(ex.layers, shape))
    out.append(trunk_cost + flops(net.trunk[done:], shape))
    return maps * np.stack(np.broadcast_arrays(*out))


def network_to_dict(net: Network) -> dict:
    """``net`` as JSON-ready data: ``{"trunk": [layer...], "exits": [{"after", "layers"}...]}``,
    each layer ``{"type": "conv", **fields}`` or ``{"type": "dense", "units"}``.

    Examples
    --------
    >>> net = Network(trunk=(Conv(8, 3, pool=2), Dense(10)), exits=(Exit(1, (Dense(10),)),))
    >>> network_from_dict(network_to_dict(net)) == net
    True
    """
    def layer(x):
        return {"type": "conv" if isinstance(x, Conv) else "dense", **asdict(x)}
    return {"trunk": [layer(x) for x in net.trunk],
            "exits": [{"after": e.after, "layers": [layer(x) for x in e.layers]} for e in net.exits]}


def network_from_dict(data: dict, field: str = "network") -> Network:
    """The :class:`Network` of :func:`network_to_dict`'s data; bad data is an
    :class:`InputError` naming ``field`` and the offending entry."""
    def layer(x, where):
        kinds = {"conv": Conv, "dense": Dense}
        if not isinstance(x, dict) or x.get("type") not in kinds:
            raise InputError(where, "must be a layer {\"type\": \"conv\" | \"dense\", ...}")
        args = {k: v for k, v in x.items() if k != "type"}
        try:
            out = kinds[x["type"]](**args)
        except TypeError as err:
            raise InputError(where, f"bad layer fields ({err})") from None
        for k, v in args.items():
            vals = v if isinstance(v, (list, tuple)) else [v]
            if v is not None and not all(isinstance(i, int) and not isinstance(i, bool) and i >= (0 if k == "padding"
                                         else 1) for i in vals):
                raise InputError(f"{where}.{k}", f"must be a positive integer, got {v!r}")
        return out if out.__class__ is Dense or np.ndim(out.kernel) == 0 else \
            Conv(**{**args, "kernel": tuple(out.kernel)})
    if not isinstance(data, dict) or not isinstance(data.get("trunk"), list) or not data["trunk"]:
        raise InputError(f"{field}.trunk", "must be a non-empty list of layers")
    trunk = tuple(layer(x, f"{field}.trunk[{i}]") for i, x in enumerate(data["trunk"]))
    exits = []
    for i, e in enumerate(data.get("exits", [])):
        where = f"{field}.exits[{i}]"
        if not isinstance(e, dict) or not isinstance(e.get("after"), int) or not 1 <= e["after"] < len(trunk):
            raise InputError(f"{where}.after", f"must be an integer in [1, {len(trunk) - 1}]")
        exits.append(Exit(e["after"], tuple(layer(x, f"{where}.layers[{j}]")
                                            for j, x in enumerate(e.get("layers", [])))))
    if [e.after for e in exits] != sorted({e.after for e in exits}):
        raise InputError(f"{field}.exits", "must branch off at increasing trunk depths")
    return Network(trunk, tuple(exits))


@dataclass(frozen=True)
class ExitProfile:
    """A learned early-exit network (``semalloc learn exits``): its layers and
    the measured fraction of tasks leaving at each exit point."""

    name: str
    network: Network
    exit_rates: tuple
    input_shape: tuple

    def min_side(self, channels: int, limit: int = 4096) -> int:
        """Smallest square input side on which every exit path of the network runs."""
        for side in range(1, limit + 1):
            try:
                exit_flops(self.network, (channels, side, side))
                return side
            except ValueError:
                continue
        raise ValueError(f"the network does not run on inputs up to {limit} pixels")


def load_exit_profile(path: str, field: str = "profile", problem: str | None = None) -> ExitProfile:
    """Read an early-exit profile JSON: ``network`` (:func:`network_to_dict`),
    ``exit_rates`` (one non-negative rate per exit point, summing to 1 within
    1e-6) and optionally ``name`` and ``input_shape``; other keys are ignored.

    Examples
    --------
    >>> import json, tempfile, os
    >>> net = Network(trunk=(Conv(8, 3), Dense(10)), exits=(Exit(1, (Dense(10),)),))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = os.path.join(d, "p.json")
    ...     _ = open(f, "w").write(json.dumps({"network": network_to_dict(net), "exit_rates": [0.3, 0.7]}))
    ...     prof = load_exit_profile(f)
    >>> prof.network == net, prof.exit_rates
    (True, (0.3, 0.7))
    """
    data = read_json_object(path, field, "early-exit profile", problem)
    if "network" not in data:
        raise InputError(field, f"profile file {str(path)!r} is not an early-exit profile (no 'network')", problem)
    try:
        net = network_from_dict(data["network"], f"{field}: network")
    except InputError as err:
        raise InputError(err.field, err.reason, problem) from None
    try:
        rates = np.asarray(data.get("exit_rates"), dtype=float)
    except (TypeError, ValueError):
        rates = np.array([np.nan])
    if rates.shape != (net.exit_points,) or not np.isfinite(rates).all() or (rates < 0).any() \
            or abs(rates.sum() - 1.0) > 1e-6:
        raise InputError(f"{field}: exit_rates", f"must be {net.exit_points} non-negative rates summing to 1, "
                         f"got {data.get('exit_rates')!r}", problem)
    shape = tuple(int(v) for v in data.get("input_shape", ()))
    return ExitProfile(str(data.get("name", Path(str(path)).stem)), net, tuple(float(r) for r in rates), shape)
