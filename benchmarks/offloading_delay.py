"""Table II analogue (Zheng et al., Sec. IV-A): measured inference delay of the
early-exit paths and of the semantic (JSCC) networks against the delay the FLOP
model (eqs. 4-6, ``semalloc.perf.flops``) predicts.

Networks (untrained weights: the delay does not depend on them):

* B-AlexNet (``semalloc.learn.exits.balexnet``, CIFAR-10 input 3x32x32): the path
  of each exit (eq. 4: trunk to the branch, then the branch), and the expected
  delay under Table II's three exit-rate settings;
* DeepJSCC-V-like encoder (extraction) and decoder (reconstruction)
  (``perf.flops.DEEPJSCC_ENCODER`` / ``DEEPJSCC_DECODER``);
* the offloading generator's Table IV networks (96 filters, kernel 3): recognition
  exits after 3, 4, 5 convolutions, extraction (4 conv), reconstruction (1 conv +
  FC), on a 64x64 image (the scenario's 224-448 would take seconds per pass here;
  the FLOP model is per pixel).

Estimated delay = FLOPs / R, where R is this device's measured throughput on a
dense 1024x1024 fp32 matrix product (FLOP/s) -- an independent hardware number,
as the paper's estimate uses the GPU's stream processors x clock x FLOP/cycle.
Measured = median wall time of ``--repeats`` forward passes (after warm-up),
batch 1 and per image in a batch of ``--batch``. torch runs on ``--threads``
threads (default 1: the machine is shared). CUDA rows are added where present.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/offloading_delay.py [--repeats 30]`` (~30 s).
Timings are not tests; ``tests/test_offloading_findings.py`` checks only that
paths of much larger FLOP counts take longer.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from semalloc.learn.exits import ExitNet, _modules, balexnet
from semalloc.perf.flops import DEEPJSCC_DECODER, DEEPJSCC_ENCODER, exit_flops, flops, output_shape
from semalloc.problems.offloading.instance import DEFAULTS, networks

#: Table II's exit-rate settings (thresholds {1e-4, 1e-3}, {1e-4, 5e-3}, {1e-4, 1e-2}).
EXIT_RATES = ([0.1868, 0.2736, 0.5396], [0.1868, 0.3424, 0.4708], [0.1868, 0.3759, 0.4373])


def median_ms(fn, x, repeats: int, device: str) -> float:
    """Median wall time (ms) of ``fn(x)`` over ``repeats`` runs after 3 warm-ups."""
    times = []
    with torch.no_grad():
        for i in range(repeats + 3):
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn(x)
            if device == "cuda":
                torch.cuda.synchronize()
            if i >= 3:
                times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def throughput(device: str, repeats: int, n: int = 1024) -> float:
    """FLOP/s of a dense ``n x n`` fp32 matrix product (2 n^3 FLOPs)."""
    a = torch.randn(n, n, device=device)
    return 2.0 * n**3 / (median_ms(lambda x: x @ x, a, repeats, device) / 1e3)


def paths(side: int = 64):
    """``(name, torch module, input shape, FLOPs)`` of every timed path."""
    out = []
    spec = balexnet()
    shape = (3, 32, 32)
    net = ExitNet(spec, shape).eval()
    for m, f in enumerate(exit_flops(spec, shape)):
        out.append((f"B-AlexNet exit {m + 1}", (lambda mm: lambda x: net.path(x, mm))(m), shape, float(f)))
    for name, layers, s in (("DeepJSCC-V encoder", DEEPJSCC_ENCODER, shape),
                            ("DeepJSCC-V decoder", DEEPJSCC_DECODER, output_shape(DEEPJSCC_ENCODER[:5], shape))):
        out.append((name, _modules(layers, s, final=True)[0].eval(), s, float(flops(layers, s))))
    rec, ext, con = networks(3, DEFAULTS)
    shape = (3, side, side)
    tnet = ExitNet(rec, shape).eval()
    for m, f in enumerate(exit_flops(rec, shape)):
        depth = [e.after for e in rec.exits] + [len(rec.trunk) - 1]
        out.append((f"Table IV recognition, exit after {depth[m]} conv", (lambda mm: lambda x: tnet.path(x, mm))(m),
                    shape, float(f)))
    out.append(("Table IV extraction (4 conv)", _modules(ext, shape, final=False)[0].eval(), shape,
                float(flops(ext, shape))))
    s = output_shape(ext, shape)
    out.append(("Table IV reconstruction (1 conv + FC)", _modules(con, s, final=True)[0].eval(), s,
                float(flops(con, s))))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--side", type=int, default=64, help="image side of the Table IV networks")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.repeats}")
    for dev in devices:
        rate = throughput(dev, args.repeats)
        print(f"\n{dev}: R = {rate / 1e9:.1f} GFLOP/s (1024x1024 fp32 matmul)\n")
        print("| network / path | FLOPs (model) | estimated (ms) | measured, batch 1 (ms) | ratio | "
              f"measured per image, batch {args.batch} (ms) | ratio |\n|---|---|---|---|---|---|---|")
        exits = []
        for name, fn, shape, f in paths(args.side):
            if hasattr(fn, "to"):
                fn = fn.to(dev)
            elif dev == "cuda":
                continue                              # the B-AlexNet closures hold CPU modules
            t1 = median_ms(fn, torch.randn(1, *shape, device=dev), args.repeats, dev)
            tb = median_ms(fn, torch.randn(args.batch, *shape, device=dev), args.repeats, dev) / args.batch
            est = 1e3 * f / rate
            if name.startswith("B-AlexNet"):
                exits.append((f, t1, tb))
            print(f"| {name} | {f:.4g} | {est:.4f} | {t1:.4f} | {t1 / est:.2f} | {tb:.4f} | {tb / est:.2f} |")
        if exits:
            f, t1, tb = (np.array(v) for v in zip(*exits))
            print("\nB-AlexNet expected delay under Table II's exit rates (eq. 4 paths, weighted by the rates):\n")
            print("| exit rates (%) | estimated (ms) | measured, batch 1 (ms) | measured per image, batch "
                  f"{args.batch} (ms) |\n|---|---|---|---|")
            for p in EXIT_RATES:
                p = np.array(p)
                print(f"| {', '.join(f'{100 * v:.2f}' for v in p)} | {1e3 * (p @ f) / rate:.4f} | {p @ t1:.4f} | "
                      f"{p @ tb:.4f} |")


if __name__ == "__main__":
    main()
