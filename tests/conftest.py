import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("MPLBACKEND", "Agg")

# Property tests: deterministic (derandomize) so CI is reproducible; a moderate number of examples per test.
settings.register_profile(
    "amphys", max_examples=25, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "amphys"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
