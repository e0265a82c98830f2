"""Token layers: a (batch, tokens, features) output read as a patch grid.

A vision transformer cuts the image into an h x w grid of patches, embeds each as a
token and may put p prefix tokens in front (a class token, a distillation token,
register tokens), so its blocks output (B, N, D) with N = p + h * w. Such a layer is
explained like a (B, h, w, D) feature map: the prefix tokens are left out and the patch
tokens are laid back on their grid (row-major, as patch embeddings flatten them).

The grid is found, in this order, from a `token_grid=(h, w)` the user gives, from the
last 4-D layer before the tokens on the same branch (the patch embedding's
convolution) when its h * w patches plus a few prefix tokens make N, and from the
input size: the patch size s that divides the height and width with the fewest prefix
tokens left over.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from keras import ops

from cam_widgets.kernel.graph import LayerCall

MAX_PREFIX = 8  # class + distillation + register tokens seen in practice (DINOv2: 5)


@dataclass(frozen=True)
class TokenGrid:
    """Where the patch tokens of a (B, N, D) output sit: `prefix` tokens first, then
    `height * width` patch tokens in row-major order."""

    height: int
    width: int
    prefix: int

    @property
    def size(self) -> tuple[int, int]:
        return self.height, self.width

    def patches(self, tokens):
        """(B, N, D) tokens -> (B, h, w, D) patch grid, prefix tokens dropped."""
        grid = tokens[:, self.prefix:, :]
        return ops.reshape(grid, (-1, self.height, self.width, tokens.shape[-1]))

    def with_patches(self, tokens, patches):
        """`tokens` with their patch part taken from `patches` (B, h, w, D): what comes
        after then depends on the grid, so gradients reach it."""
        flat = ops.reshape(patches, (-1, self.height * self.width, patches.shape[-1]))
        return ops.concatenate([tokens[:, :self.prefix, :], flat], axis=1)


def is_token_shape(shape: Sequence[int | None]) -> bool:
    return len(shape) == 3


def _fits_image(height: int, width: int, image_size) -> bool:
    """A patch grid cuts the image into equal square patches."""
    image_height, image_width = image_size
    if image_height is None or image_width is None:
        return True
    return (image_height % height == 0 and image_width % width == 0
            and image_height // height == image_width // width)


def _from_embedding(call: LayerCall, before: Sequence[LayerCall], image_size) -> TokenGrid | None:
    tokens = call.output_shape[1]
    for earlier in reversed(before):
        if len(earlier.output_shape) != 4 or not earlier.inputs_used & call.inputs_used:
            continue
        height, width = earlier.output_shape[1:3]
        if height is None or width is None:
            return None
        prefix = tokens - height * width
        if 0 <= prefix <= MAX_PREFIX and _fits_image(height, width, image_size):
            return TokenGrid(height, width, prefix)
        return None
    return None


def _from_input_size(tokens: int, image_size: tuple[int | None, int | None]) -> TokenGrid | None:
    height, width = image_size
    if height is None or width is None:
        return None
    for patch in range(1, min(height, width) + 1):  # smallest patch = most patches first
        if height % patch or width % patch:
            continue
        prefix = tokens - (height // patch) * (width // patch)
        if 0 <= prefix <= MAX_PREFIX:
            return TokenGrid(height // patch, width // patch, prefix)
    return None


def find_grid(
    call: LayerCall,
    before: Sequence[LayerCall],
    image_shape: tuple[int | None, ...],
    given: tuple[int, int] | None = None,
) -> TokenGrid | None:
    """The patch grid of token layer `call`, None when it is not a token layer or no
    grid fits. `before`: the calls made before it; `image_shape`: the explained input's
    (batch, height, width, channels); `given`: the user's `token_grid`, checked
    against N. A layer whose batch size differs from the input's (a position
    embedding table) is not a token layer."""
    if (not is_token_shape(call.output_shape) or call.output_shape[1] is None
            or len(image_shape) != 4 or call.output_shape[0] != image_shape[0]):
        return None
    tokens = call.output_shape[1]
    if given is not None:
        height, width = given
        if height * width > tokens:
            raise ValueError(
                f"token_grid={tuple(given)} has {height * width} patches, but layer "
                f"{call.path!r} outputs only {tokens} tokens (shape {call.output_shape}). "
                "Give the (rows, columns) of the patch grid, with rows * columns <= "
                "the number of tokens (the rest are prefix tokens)."
            )
        return TokenGrid(height, width, tokens - height * width)
    return (_from_embedding(call, before, image_shape[1:3])
            or _from_input_size(tokens, image_shape[1:3]))


def check_token_grid(token_grid) -> tuple[int, int] | None:
    """`explain(..., token_grid=...)` validated: None or two positive ints."""
    if token_grid is None:
        return None
    if (not isinstance(token_grid, (tuple, list)) or len(token_grid) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                       for v in token_grid)):
        raise TypeError(
            f"token_grid must be (rows, columns) of the patch grid as two positive ints, "
            f"e.g. (14, 14) for a 224-pixel ViT with 16-pixel patches; got {token_grid!r}."
        )
    return int(token_grid[0]), int(token_grid[1])
