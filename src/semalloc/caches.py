"""Where semalloc keeps what it caches: ``$SEMALLOC_CACHE``, else the system's temporary directory, never
the user's home directory (agents trained by ``drl`` with ``agent=auto``; matplotlib's font cache when
semalloc draws a figure).

Examples
--------
>>> import os
>>> from semalloc.caches import cache_dir
>>> os.environ["SEMALLOC_CACHE"] = "/tmp/my-cache"
>>> str(cache_dir("agents"))
'/tmp/my-cache/agents'
>>> del os.environ["SEMALLOC_CACHE"]
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

__all__ = ["cache_dir", "pyplot"]


def cache_dir(kind: str) -> Path:
    """``$SEMALLOC_CACHE/<kind>``, else ``<system temporary directory>/semalloc/<kind>`` (not created)."""
    return Path(os.environ.get("SEMALLOC_CACHE") or Path(tempfile.gettempdir()) / "semalloc") / kind


def pyplot(backend: str | None = "Agg"):
    """``matplotlib.pyplot`` for semalloc's figures, on ``backend`` (None: matplotlib's own choice, for a
    figure returned to the caller). When semalloc is the first to import matplotlib and ``MPLCONFIGDIR`` is
    unset, matplotlib's configuration and font cache go to :func:`cache_dir` ``("matplotlib")`` instead of
    the home directory (``~/.cache/matplotlib``)."""
    if "matplotlib" not in sys.modules and "MPLCONFIGDIR" not in os.environ:
        path = cache_dir("matplotlib")
        path.mkdir(parents=True, exist_ok=True)
        os.environ["MPLCONFIGDIR"] = str(path)
    import matplotlib
    if backend:
        matplotlib.use(backend)
    import matplotlib.pyplot as plt
    return plt
