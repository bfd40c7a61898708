"""numpy's BLAS on one thread while an algorithm runs.

OpenBLAS splits a product's sums over its threads, and how it splits them depends on how many there are,
so the same algorithm on the same instance gave answers differing in the last digits with the machine's
cores (training ``best`` and ``exact``: 1 ulp in the objective, 4e-11 relative in its energy; a Dask
worker, which starts with one BLAS thread, and a local sweep then stored different rows for one task). The
products here are small: split over threads they gain nothing, and beside another job the threads wait
for each other (training ``exact`` took 13-20 times as long on two threads; an sbq decision 10 times).

Examples
--------
>>> import numpy as np
>>> from semalloc.threads import one_blas_thread
>>> with one_blas_thread():
...     float(np.ones((3, 3)) @ np.ones(3) @ np.ones(3))
9.0
"""
from __future__ import annotations

import contextlib
import functools
import threading

__all__ = ["one_blas_thread"]


@functools.cache
def _blas():
    """numpy's BLAS libraries (found once: about 1 ms; switching them then takes about 15 us)."""
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController().select(user_api="blas")


def one_blas_thread():
    """A context in which numpy's BLAS runs on one thread, restored after it.

    In the main thread only: the limit is process-wide, so runs overlapping in threads (a Dask worker's)
    would restore each other's settings out of order (Dask's worker processes start with one BLAS thread
    anyway); elsewhere a context that changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        return contextlib.nullcontext()
    return _blas().limit(limits=1)
