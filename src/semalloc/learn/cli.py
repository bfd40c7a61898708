"""``semalloc learn``: train a learned transmitter, measure it, write a profile.

Torch is imported only when a command runs, so ``import semalloc`` (and this
module) never needs it.

Examples
--------
>>> from semalloc.learn.cli import parse_snrs
>>> parse_snrs(["-5", "0,5"])
[-5.0, 0.0, 5.0]
"""
from __future__ import annotations

from pathlib import Path

import typer

from ..errors import InputError

app = typer.Typer(help="Train learned semantic transmitters and profile them into the performance models.",
                  no_args_is_help=True)


@app.callback()
def learn() -> None:
    """Train learned semantic transmitters and profile them into the performance models."""


def parse_snrs(values) -> list[float]:
    """SNRs in dB from ``--snr`` values: repeated, comma-separated, or trailing numbers."""
    out = []
    for v in values:
        for part in str(v).split(","):
            if part.strip():
                try:
                    out.append(float(part))
                except ValueError:
                    raise InputError("snr", f"{part!r} is not a number of dB") from None
    return out


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def asc(ctx: typer.Context,
        dataset: str = typer.Option("digits", help="data set (digits: scikit-learn's bundled 8x8 digits)"),
        snr: list[str] = typer.Option(["-5", "0", "5"], help="SNRs in dB: --snr -5 0 5, or -5,0,5"),
        out: Path = typer.Option(Path("asc.json"), "-o", "--out", help="profile JSON to write"),
        quick: bool = typer.Option(False, help="few epochs (< 1 min on 2 cores)"),
        seed: int = typer.Option(0, help="seed of the split, the weights and the noise"),
        epochs: int = typer.Option(None, help="training epochs (default 50, 8 with --quick)"),
        kappa: float = typer.Option(1e-3, help="weight of the MI upper bound in eq. (18)"),
        primary_snr: float = typer.Option(None, help="SNR whose fit is the profile's zeta (default: middle)"),
        checkpoint: Path = typer.Option(None, help="load weights from here if it exists, else save them here"),
        device: str = typer.Option("cpu", help="torch device (cuda when available)"),
        progress: bool = typer.Option(True, help="show the progress bar")):
    """Adaptable semantic compression (Liu et al.): eta(o) for the compression problem."""
    try:
        snrs = parse_snrs([*snr, *ctx.args])
        from .asc import profile_asc
        prof = profile_asc(dataset, snrs, quick=quick, seed=seed, checkpoint=checkpoint, out=out,
                           primary_snr_db=primary_snr, device=device, progress=progress,
                           **({} if epochs is None else {"epochs": epochs}), kappa=kappa)
    except InputError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    except ImportError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    o = prof["o"]
    cols = [i for i in range(0, len(o), max(1, len(o) // 8))]
    typer.echo("accuracy vs compression ratio o (importance order)")
    typer.echo("SNR dB | " + " ".join(f"{o[i]:5.2f}" for i in cols))
    for s, acc in prof["accuracy"]["importance"].items():
        typer.echo(f"{s:>6} | " + " ".join(f"{acc[i]:5.3f}" for i in cols))
    typer.echo(f"wrote {out}: zeta {[float(f'{z:.4g}') for z in prof['zeta']]}, RMSE {prof['rmse']:.4f}")
