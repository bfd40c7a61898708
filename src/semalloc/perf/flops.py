"""FLOP counts of convolutional networks with early exits (Zheng et al., eqs. 4-6).

A network is described as data: a trunk of :class:`Conv` and :class:`Dense`
layers and the side exits (:class:`Exit`) that branch off it. The count of a
convolution with ``L`` filters of shape ``k_w x k_h`` on ``A`` feature maps of
``C`` channels and output shape ``W_out x H_out`` is ``2 A L C k_w k_h W_out
H_out`` (Sec. II-C); with stride 1 and no padding ``W_out = W_in - k_w + 1``,
the paper's case, and in general ``floor((W_in + 2 p - k_w) / s) + 1``. A
fully connected layer costs ``2 x inputs x outputs`` (one multiply and one add
per weight, as for the convolution; eq. 4 writes ``inputs x outputs``,
docs/models-offloading.md). Pooling changes shapes only and costs nothing.
The input channels of a layer are the filters of the layer before it (the
paper writes the task's ``C_i`` in every layer; docs/models-offloading.md).

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

from dataclasses import dataclass

import numpy as np

__all__ = ["Conv", "Dense", "Exit", "Network", "layer_flops", "flops", "exit_flops", "output_shape"]


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
    counted (docs/models-offloading.md).
    """
    out, done, trunk_cost = [], 0, 0.0
    for ex in sorted(net.exits, key=lambda e: e.after):
        trunk_cost = trunk_cost + flops(net.trunk[done:ex.after], shape)
        shape, done = output_shape(net.trunk[done:ex.after], shape), ex.after
        out.append(trunk_cost + flops(ex.layers, shape))
    out.append(trunk_cost + flops(net.trunk[done:], shape))
    return maps * np.stack(np.broadcast_arrays(*out))
