"""What a gallery can be made from: a results folder, a pyarrow Table, or an `explain`
result with its images, read into `GalleryData`; and the optional model, loaded."""
from __future__ import annotations

import os
from typing import Any

from cam_widgets.gallery.data import GalleryData, from_result, from_results, from_table


def load_model(model: Any) -> Any:
    """A keras.Model, or one loaded from its path; None stays None."""
    if model is None:
        return None
    from cam_widgets.audit.models import load_model as load

    return load(model)


def read_source(source: Any, images: Any, labels: Any, boxes: Any, size: Any,
                binary: bool | None) -> GalleryData:
    """The gallery's rows from `source` (see `CamGallery`)."""
    import pyarrow as pa

    from cam_widgets.audit import Results, read_results

    if isinstance(source, (str, os.PathLike)):
        source = read_results(source)
    if isinstance(source, Results):  # read lazily: maps on demand
        if labels is not None or boxes is not None:
            raise ValueError("labels and boxes come from the results; give them to "
                             "explain_to_parquet instead.")
        return from_results(source, images, size)
    if isinstance(source, pa.Table):
        if labels is not None or boxes is not None:
            raise ValueError("labels and boxes come from the results table; give them to "
                             "explain_to_parquet instead.")
        return from_table(source, images, size)
    if hasattr(source, "maps") and hasattr(source, "targets"):
        if images is None:
            raise ValueError("An explain result needs its images: CamGallery(result, images=x).")
        return from_result(source, images, labels, boxes, binary)
    raise TypeError(f"CamGallery shows a results folder, a pyarrow Table or an explain result; "
                    f"got {type(source).__name__}.")
