"""nbval starts each notebook's kernel in this folder, so a relative PYTHONPATH entry
(`PYTHONPATH=. pytest --nbval-lax notebooks/` from the repository root) would point here
instead of at the repository. Make the entries absolute before any kernel starts."""
from __future__ import annotations

import os

_entries = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
if _entries:
    os.environ["PYTHONPATH"] = os.pathsep.join(os.path.abspath(entry) for entry in _entries)
