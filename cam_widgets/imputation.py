"""Noisy linear imputation (Rong et al. 2022, "A Consistent and Efficient Evaluation
Strategy for Attribution Methods"): removed pixels take the weighted mean of their
eight neighbours, solved jointly as one sparse linear system, plus a little noise, so
that what was removed leaves no hole-shaped trace for the model to see."""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import linalg

# (row offset, column offset, weight): direct neighbours 1/6, diagonal ones 1/12
NEIGHBOURS = tuple((dr, dc, 1 / 6 if dr == 0 or dc == 0 else 1 / 12)
                   for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0))


def impute(image: np.ndarray, removed: np.ndarray, noise: float = 0.01,
           rng: np.random.Generator | None = None) -> np.ndarray:
    """`image` (H, W, C) with the pixels where `removed` (H, W) is True replaced.

    Each removed pixel equals the weighted mean of its neighbours inside the image
    (removed or not); with at least one pixel kept this system has one solution. Then
    Gaussian noise of std `noise` is added to the imputed pixels.
    """
    image = np.asarray(image, np.float64)
    height, width = removed.shape
    rows, cols = np.nonzero(removed)
    n_removed = len(rows)
    if n_removed == 0:
        return image.astype(np.float32)
    if n_removed == removed.size:
        raise ValueError("Every pixel is removed: nothing is left to impute from.")
    index = np.full(removed.shape, -1, np.int64)
    index[rows, cols] = np.arange(n_removed)
    entries_row, entries_col, entries_value = [], [], []
    diagonal = np.zeros(n_removed)
    known = np.zeros((n_removed, image.shape[-1]))
    for dr, dc, weight in NEIGHBOURS:
        r, c = rows + dr, cols + dc
        inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        here, r, c = np.nonzero(inside)[0], r[inside], c[inside]
        diagonal[here] += weight
        other = index[r, c]
        unknown = other >= 0
        entries_row.append(here[unknown])
        entries_col.append(other[unknown])
        entries_value.append(np.full(unknown.sum(), -weight))
        np.add.at(known, here[~unknown], weight * image[r[~unknown], c[~unknown]])
    system = sparse.csr_matrix(
        (np.concatenate([diagonal, *entries_value]),
         (np.concatenate([np.arange(n_removed), *entries_row]),
          np.concatenate([np.arange(n_removed), *entries_col]))),
        shape=(n_removed, n_removed))
    values = linalg.spsolve(system.tocsc(), known).reshape(n_removed, -1)
    rng = np.random.default_rng(0) if rng is None else rng
    out = image.copy()
    out[rows, cols] = values + noise * rng.standard_normal(values.shape)
    return out.astype(np.float32)
