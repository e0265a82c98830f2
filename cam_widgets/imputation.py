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


def impute(images: np.ndarray, removed: np.ndarray, noise: float = 0.01,
           rng: np.random.Generator | None = None) -> np.ndarray:
    """`images` (B, H, W, C), or one (H, W, C), with the pixels where `removed` (B, H, W)
    or (H, W) is True replaced.

    Each removed pixel equals the weighted mean of its neighbours inside its image
    (removed or not). Per image this is a symmetric positive definite system when the
    image keeps at least one pixel, solved by conjugate gradients (one image at a time:
    measured faster than one system for the batch). Then Gaussian noise of std `noise`
    is added to the imputed pixels.
    """
    one = np.ndim(images) == 3
    images = np.asarray(images, np.float64)[None] if one else np.asarray(images, np.float64)
    removed = np.asarray(removed, bool)[None] if one else np.asarray(removed, bool)
    if images.shape[:3] != removed.shape:
        raise ValueError(f"images {images.shape} and removed {removed.shape} must describe "
                         "the same (B, H, W) pixels.")
    if removed.reshape(len(removed), -1).all(axis=1).any():
        raise ValueError("Every pixel of an image is removed: nothing is left to impute from.")
    rng = np.random.default_rng(0) if rng is None else rng
    out = images.copy()
    for image, holes, filled in zip(images, removed, out):
        where = np.nonzero(holes)
        if len(where[0]):
            values = _solve(image, holes, where)
            filled[where] = values + noise * rng.standard_normal(values.shape)
    return out[0].astype(np.float32) if one else out.astype(np.float32)


def _solve(image, removed, where) -> np.ndarray:
    """The values (N, C) of the N removed pixels `where` (row, col indices)."""
    rows, cols = where
    height, width = removed.shape
    n_removed = len(rows)
    index = np.full(removed.shape, -1, np.int64)
    index[rows, cols] = np.arange(n_removed)
    coupled_row, coupled_col, coupled_weight = [], [], []
    diagonal = np.zeros(n_removed)
    known = np.zeros((n_removed, image.shape[-1]))
    for dr, dc, weight in NEIGHBOURS:
        r, c = rows + dr, cols + dc
        inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        here, r, c = np.nonzero(inside)[0], r[inside], c[inside]
        diagonal[here] += weight
        other = index[r, c]
        unknown = other >= 0
        coupled_row.append(here[unknown])
        coupled_col.append(other[unknown])
        coupled_weight.append(np.full(unknown.sum(), -weight))
        np.add.at(known, here[~unknown], weight * image[r[~unknown], c[~unknown]])
    system = sparse.csr_matrix(
        (np.concatenate([diagonal, *coupled_weight]),
         (np.concatenate([np.arange(n_removed), *coupled_row]),
          np.concatenate([np.arange(n_removed), *coupled_col]))),
        shape=(n_removed, n_removed))
    jacobi = linalg.LinearOperator(system.shape, matvec=lambda x: x / diagonal)
    values = np.empty_like(known)
    for channel in range(known.shape[1]):
        values[:, channel], info = linalg.cg(system, known[:, channel], rtol=1e-9, atol=0.0,
                                             maxiter=10 * n_removed, M=jacobi)
        if info != 0:  # not expected for this positive definite system
            values[:, channel] = linalg.spsolve(system.tocsc(), known[:, channel])
    return values
