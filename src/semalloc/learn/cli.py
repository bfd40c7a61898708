"""``semalloc learn``: train a learned transmitter, measure it, write a profile.

Torch is imported only when a command runs, so ``import semalloc`` (and this
module) never needs it. Options that take several values (``--snr -5 0 5``,
``--rho 0.1 0.2``, ``--thresholds 0.0001,0.001 0.0001,0.01``) are read by
:func:`multi_values` from the command's extra arguments.

Examples
--------
>>> from semalloc.learn.cli import parse_snrs, multi_values
>>> parse_snrs(["-5", "0,5"])
[-5.0, 0.0, 5.0]
>>> multi_values(["--rho", "0.1", "0.2", "--snr", "-5", "4,13"], ("rho", "snr"))
{'rho': ['0.1', '0.2'], 'snr': ['-5', '4,13']}
"""
from __future__ import annotations

import json
import math
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import typer

from ..errors import InputError

app = typer.Typer(help="Train learned semantic transmitters and profile them into the performance models.",
                  no_args_is_help=True)
_MULTI = {"allow_extra_args": True, "ignore_unknown_options": True}


@app.callback()
def learn() -> None:
    """Train learned semantic transmitters and profile them into the performance models."""


def multi_values(args, names) -> dict:
    """Values of the several-valued options ``--NAME v1 v2 ...`` in ``args`` (a value
    is any token not starting with ``--``); any other token is an InputError."""
    out, current = {}, None
    for tok in args:
        if tok.startswith("--") and tok[2:].replace("-", "_") in names:
            current = tok[2:].replace("-", "_")
            out.setdefault(current, [])
        elif current is not None and not tok.startswith("--"):
            out[current].append(tok)
        else:
            raise InputError(tok.lstrip("-") or tok, f"unexpected argument {tok!r}")
    return out


def _numbers(values, field: str) -> list[float]:
    out = []
    for v in values:
        for part in str(v).split(","):
            if part.strip():
                try:
                    out.append(float(part))
                except ValueError:
                    raise InputError(field, f"{part!r} is not a number") from None
    return out


def parse_snrs(values) -> list[float]:
    """SNRs in dB from ``--snr`` values: repeated, comma-separated, or trailing numbers."""
    return _numbers(values, "snr")


@contextmanager
def _one_line_errors():
    """Bad input (and a missing torch) ends the command with exit 2 and one line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = lambda msg, *a, **k: typer.echo(f"warning: {msg}", err=True)
            yield
    except (InputError, ImportError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None


def _check(out, seed: int, **counts) -> None:
    """Every verb's options before any training: the output path (a directory, or under a file, failed
    after minutes of training with a traceback), the seed, and counts that must be >= 1 when given."""
    from ..cli_errors import check_output_path
    check_output_path(out)
    if seed < 0:
        raise InputError("--seed", f"must be >= 0, got {seed}")
    for name, value in counts.items():
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')}", f"must be >= 1, got {value}")


def _data(data_dir, size, limit) -> dict:
    return {"data_dir": data_dir, "size": size, "limit": limit}


_DATASET = typer.Option("digits", help="digits, synthetic, cifar10 or stl10 (the last two need --data-dir)")
_DATA_DIR = typer.Option(None, help="directory holding cifar-10-batches-py/ or stl10_binary/ (nothing is downloaded)")
_SIZE = typer.Option(None, help="resize images to SIZE x SIZE (bilinear)")
_LIMIT = typer.Option(None, help="use at most LIMIT images of each split")
_CHECKPOINT = typer.Option(None, help="load the weights from here if the file exists, else save them here")
_DEVICE = typer.Option("auto", help="torch device: auto (cuda when available), cpu, cuda")
_PROGRESS = typer.Option(True, help="show the progress bar")
_SEED = typer.Option(0, help="seed of the split, the weights and the noise")
_OUTPUT_ALIAS = typer.Option(None, "--output", hidden=True)     # the old name of -o/--out elsewhere
_JSON = typer.Option(False, "--json", help="print what was written and the profile as JSON (docs/cli.md)")


def _json_done(out, prof: dict, t0: float) -> None:
    """``--json``: the profile written, its content and the time taken, on stdout."""
    from ..schema import to_jsonable
    sys.stdout.write(json.dumps(to_jsonable({"written": [str(out)], "time_s": time.perf_counter() - t0,
                                             "profile": prof})) + "\n")


@app.command(context_settings=_MULTI)
def asc(ctx: typer.Context, dataset: str = _DATASET, data_dir: Path = _DATA_DIR, size: int = _SIZE,
        limit: int = _LIMIT,
        out: Path = typer.Option(Path("asc.json"), "-o", "--out", help="profile JSON to write"),
        quick: bool = typer.Option(False, help="few epochs (< 1 min on 2 cores)"), seed: int = _SEED,
        epochs: int = typer.Option(None, help="training epochs (default 50, 8 with --quick)"),
        kappa: float = typer.Option(1e-3, help="weight of the MI upper bound in eq. (18)"),
        primary_snr: float = typer.Option(None, help="SNR whose fit is the profile's zeta (default: middle)"),
        checkpoint: Path = _CHECKPOINT, device: str = _DEVICE, progress: bool = _PROGRESS,
        output: Path = _OUTPUT_ALIAS, json_out: bool = _JSON):
    """Adaptable semantic compression (Liu et al.): eta(o) for the compression problem.

    --snr S ...: SNRs in dB (default -5 0 5).
    """
    out, t0, progress = output or out, time.perf_counter(), progress and not json_out
    with _one_line_errors():
        _check(out, seed, epochs=epochs, size=size, limit=limit)
        if not (math.isfinite(kappa) and kappa >= 0):
            raise InputError("--kappa", f"must be a finite number >= 0, got {kappa}")
        snrs = parse_snrs(multi_values(ctx.args, ("snr",)).get("snr", ["-5", "0", "5"]))
        from .asc import profile_asc
        prof = profile_asc(dataset, snrs, quick=quick, seed=seed, checkpoint=checkpoint, out=out,
                           primary_snr_db=primary_snr, device=device, progress=progress,
                           data=_data(data_dir, size, limit), **({} if epochs is None else {"epochs": epochs}),
                           kappa=kappa)
    if json_out:
        return _json_done(out, prof, t0)
    o = prof["o"]
    cols = list(range(0, len(o), max(1, len(o) // 8)))
    typer.echo("accuracy vs compression ratio o (importance order)")
    typer.echo("SNR dB | " + " ".join(f"{o[i]:5.2f}" for i in cols))
    for s, acc in prof["accuracy"]["importance"].items():
        typer.echo(f"{s:>6} | " + " ".join(f"{acc[i]:5.3f}" for i in cols))
    typer.echo(f"wrote {out}: zeta {[float(f'{z:.4g}') for z in prof['zeta']]}, RMSE {prof['rmse']:.4f}")


@app.command(context_settings=_MULTI)
def jscc(ctx: typer.Context, dataset: str = _DATASET, data_dir: Path = _DATA_DIR, size: int = _SIZE,
         limit: int = _LIMIT,
         out: Path = typer.Option(Path("jscc.json"), "-o", "--out", help="profile JSON to write"),
         quick: bool = typer.Option(False, help="few epochs and narrow layers"), seed: int = _SEED,
         epochs: int = typer.Option(None, help="training epochs (default 60, 20 with --quick)"),
         checkpoint: Path = _CHECKPOINT, device: str = _DEVICE, progress: bool = _PROGRESS,
         output: Path = _OUTPUT_ALIAS, json_out: bool = _JSON):
    """Deep JSCC (Li et al., Sec. VII-A): PSNR(rho, S) of eq. (57) for the training problem.

    --rho R ...: compression rates in (0, 1] (default 0.1 0.2 0.3); --snr S ...: SNRs in dB (default 4 10 13).
    One network is trained per (rho, SNR) pair.
    """
    out, t0, progress = output or out, time.perf_counter(), progress and not json_out
    with _one_line_errors():
        _check(out, seed, epochs=epochs, size=size, limit=limit)
        vals = multi_values(ctx.args, ("rho", "snr"))
        rhos = _numbers(vals.get("rho", ["0.1", "0.2", "0.3"]), "rho")
        snrs = parse_snrs(vals.get("snr", ["4", "10", "13"]))
        from .jscc import profile_jscc
        prof = profile_jscc(dataset, rhos, snrs, quick=quick, seed=seed, epochs=epochs, checkpoint=checkpoint,
                            out=out, device=device, progress=progress, data=_data(data_dir, size, limit))
    if json_out:
        return _json_done(out, prof, t0)
    typer.echo("test PSNR (dB)")
    typer.echo("rho \\ SNR dB | " + " ".join(f"{s:>6g}" for s in prof["snr_db"]))
    for r, row in prof["psnr_db"].items():
        typer.echo(f"{r:>12} | " + " ".join(f"{v:6.2f}" for v in row.values()))
    typer.echo(f"wrote {out}: P = {prof['a']:.4g} ln({prof['c_rho']:.4g} rho + {prof['c_s']:.4g} S_dB + "
               f"{prof['b']:.4g}), RMSE {prof['rmse']:.3f} dB")


@app.command(context_settings=_MULTI)
def exits(ctx: typer.Context, dataset: str = _DATASET, data_dir: Path = _DATA_DIR,
          size: int = typer.Option(None, help="resize images to SIZE x SIZE (default 32)"), limit: int = _LIMIT,
          out: Path = typer.Option(Path("exits.json"), "-o", "--out", help="profile JSON to write"),
          quick: bool = typer.Option(False, help="few epochs and narrow layers"), seed: int = _SEED,
          epochs: int = typer.Option(None, help="training epochs (default 30, 8 with --quick)"),
          primary: int = typer.Option(0, help="threshold setting whose exit rates are the profile's"),
          checkpoint: Path = _CHECKPOINT, device: str = _DEVICE, progress: bool = _PROGRESS,
          output: Path = _OUTPUT_ALIAS, json_out: bool = _JSON):
    """Early exit (Zheng et al., Sec. IV-A): exit rates, accuracy, latency, FLOPs for the offloading problem.

    --thresholds T1,T2 ...: entropy thresholds of the two side exits, one setting per value
    (default Table II's 0.0001,0.001 0.0001,0.005 0.0001,0.01).
    """
    out, t0, progress = output or out, time.perf_counter(), progress and not json_out
    with _one_line_errors():
        _check(out, seed, epochs=epochs, size=size, limit=limit)
        from .exits import parse_thresholds, profile_exits
        vals = multi_values(ctx.args, ("thresholds",))
        settings = parse_thresholds(vals["thresholds"]) if "thresholds" in vals else None
        prof = profile_exits(dataset, settings, quick=quick, seed=seed, primary=primary, checkpoint=checkpoint,
                             out=out, device=device, progress=progress, data=_data(data_dir, size, limit),
                             **({} if epochs is None else {"epochs": epochs}))
    if json_out:
        return _json_done(out, prof, t0)
    typer.echo("thresholds      | exit %                 | acc    | CPU ms | est. ms")
    for row in prof["settings"]:
        typer.echo(f"{','.join(f'{t:g}' for t in row['thresholds']):<15} | "
                   f"{' '.join(f'{100 * f:6.2f}' for f in row['exit_fractions']):<22} | {row['accuracy']:.4f} | "
                   f"{row['latency_ms']:6.3f} | {row['est_latency_ms']:6.3f}")
    f = prof["flops"]
    typer.echo(f"FLOPs per exit: torch {[int(v) for v in f['torch']]}, model {[int(v) for v in f['model']]} "
               f"(max rel. diff {f['max_rel_diff']:.2%})")
    typer.echo(f"wrote {out}: exit rates {[round(r, 4) for r in prof['exit_rates']]}")
