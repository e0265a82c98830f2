"""Write the backend suite's fixtures: small `.keras` models and the TensorFlow results
of `explain` on them (tests/backends/fixtures/). Run under TensorFlow, from the repo:

    KERAS_BACKEND=tensorflow python scripts/make_backend_fixtures.py [folder]

The JAX and torch suites (`make test-jax`, `make test-torch`) load the same files and
must reproduce these results; tests/backends/test_equal_to_tensorflow.py checks, under
TensorFlow, that the stored files are what this script writes today."""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if os.environ.setdefault("KERAS_BACKEND", "tensorflow") != "tensorflow":
    sys.exit(f"Run under KERAS_BACKEND=tensorflow (got {os.environ['KERAS_BACKEND']!r}).")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.backends.cases import FIXTURES, write_fixtures  # noqa: E402


def main(argv: list[str]) -> None:
    folder = Path(argv[1]) if len(argv) > 1 else FIXTURES
    written = write_fixtures(folder)
    for name, size in written.items():
        print(f"{size / 1024:8.1f} KB  {folder / name}")
    print(f"{sum(written.values()) / 1024:8.1f} KB  in all")


if __name__ == "__main__":
    main(sys.argv)
