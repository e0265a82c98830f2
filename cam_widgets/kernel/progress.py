"""Progress bars over images (tqdm.auto: a widget in notebooks, text in a terminal)."""
from __future__ import annotations

from typing import Any


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where a progress bar is shown by default)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def progress_wanted(progress: bool | None) -> bool:
    """`progress=None` means: on in a notebook, off elsewhere."""
    if progress is None:
        return in_notebook()
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None (notebooks only); got {progress!r}.")
    return progress


def image_bar(enabled: bool, total: int | None, description: str) -> Any:
    """A tqdm bar counting images (its rate reads images/s); disabled bars draw nothing."""
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="img", desc=description, disable=not enabled,
                dynamic_ncols=True, leave=True)
