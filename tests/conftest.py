"""Shared test settings.

Hypothesis runs without deadlines (HiGHS and the vectorised scheduler have
noisy first-call times) and with a fixed derandomised profile on CI so that
the suite's runtime and outcome are reproducible; ``HYPOTHESIS_PROFILE=dev``
explores new examples on every run.
"""
from __future__ import annotations

import os

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
