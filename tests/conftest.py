import os
import sys

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


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Fits use one torch thread: on a shared 2-core machine two threads made training steps 10-25x slower
    (docs/benchmarks.md). Applied only where torch is already loaded, so light tests stay light."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
