"""Shared test settings.

Hypothesis runs without deadlines (HiGHS and the vectorised scheduler have
noisy first-call times) and with a fixed derandomised profile on CI so that
the suite's runtime and outcome are reproducible; ``HYPOTHESIS_PROFILE=dev``
explores new examples on every run.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", deadline=None, derandomize=True, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def one_torch_thread():
    """Torch on one thread during a test (training runs that must be bit-identical), restored after."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
