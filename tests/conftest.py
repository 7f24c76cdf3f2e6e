"""Shared pytest fixtures and settings for tinytvm's tests.

Deliberately free of ``tinytvm`` imports at module import time, so the harness works while the
package is being written.

* ``shared_models_dir``: ``<project root>/../shared/models`` (never copied into the repo).
* ``mlperf_model``: parametrized over the four MLPerf Tiny models; the value is the model's
  path (``.stem`` is its name). ``shared_model(name)`` returns any shared model's path.
* ``model_file(data, name="model")``: writes flatbuffer bytes to a fresh file in ``tmp_path``.
* ``rng``: a ``numpy.random.Generator`` seeded from the test's node id (deterministic).
* Hypothesis profiles: "ci" (deadline off, 25 examples, derandomized, no example database),
  "dev" (deadline off, 100 examples) and "thorough" (1000 examples). Chosen by ``TINYTVM_HYPOTHESIS_PROFILE``,
  else "ci" when ``CI`` is set, else "dev".
* Marker ``slow``: deselect with ``-m "not slow"``.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

_TESTS_DIR = Path(__file__).resolve().parent
if str(_TESTS_DIR) not in sys.path:  # make `import oracle` / `import tflite_builder` work
    sys.path.insert(0, str(_TESTS_DIR))

# Same values as oracle.SHARED_MODELS_DIR / oracle.MLPERF_MODELS; not imported from there so
# that collecting tests never needs tflite_micro.
SHARED_MODELS_DIR = _TESTS_DIR.parent.parent / "shared" / "models"
MLPERF_MODELS = ("kws_dscnn_int8", "vww_mbv1_int8", "resnet8_int8", "ad01_int8")

try:
    from hypothesis import HealthCheck, settings

    _common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile(
        "ci", max_examples=25, derandomize=True, database=None, print_blob=True, **_common
    )
    settings.register_profile("dev", max_examples=100, **_common)
    settings.register_profile("thorough", max_examples=1000, **_common)
    settings.load_profile(
        os.environ.get("TINYTVM_HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
    )
except ImportError:  # hypothesis is optional for the harness itself
    pass


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long-running test (deselect with -m 'not slow')")


@pytest.fixture(scope="session")
def shared_models_dir() -> Path:
    """The shared reference models directory (read-only)."""
    if not SHARED_MODELS_DIR.is_dir():
        pytest.fail(f"shared models directory {SHARED_MODELS_DIR} is missing")
    return SHARED_MODELS_DIR


@pytest.fixture(scope="session")
def shared_model(shared_models_dir: Path) -> Callable[[str], Path]:
    """``shared_model("kws_dscnn_int8")`` -> path of that shared model."""

    def get(name: str) -> Path:
        p = shared_models_dir / (name if name.endswith(".tflite") else f"{name}.tflite")
        if not p.is_file():
            pytest.fail(f"shared model {p} is missing")
        return p

    return get


@pytest.fixture(params=MLPERF_MODELS)
def mlperf_model(request: pytest.FixtureRequest, shared_model: Callable[[str], Path]) -> Path:
    """Path of each MLPerf Tiny reference model in turn (test ids are the model names)."""
    return shared_model(request.param)


@pytest.fixture
def model_file(tmp_path: Path) -> Callable[..., Path]:
    """``model_file(data: bytes, name="model") -> Path`` of a new ``.tflite`` in ``tmp_path``."""
    counter = iter(range(1 << 30))

    def write(data: bytes, name: str = "model") -> Path:
        p = tmp_path / f"{name}_{next(counter)}.tflite"
        p.write_bytes(data)
        return p

    return write


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator seeded from the test's node id: deterministic, different per test."""
    seed = int.from_bytes(hashlib.sha256(request.node.nodeid.encode()).digest()[:8], "little")
    return np.random.default_rng(seed)
