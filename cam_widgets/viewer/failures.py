"""What the viewer says about a failure: its message, and whether a control can fix it
(the status line's hint). Pure: no widgets.

Where it failed decides most of it:
- "image": the image could not be fed to the model (its channels, `preprocess`): a
  control can only help by picking another image of the batch;
- "kernel": the kernel refused or could not run these settings. A ValueError or
  TypeError is the kernel's own check of a setting (a layer, a class, an option, a
  method the model does not suit): another setting fixes it. Running out of memory is
  not a setting's fault. Any other error is the model failing to run: a setting can fix
  it only when the model has run on this image before (so it is this setting's fault).
"""

from __future__ import annotations

from dataclasses import dataclass

IMAGE, KERNEL = "image", "kernel"
_OUT_OF_MEMORY = ("ResourceExhausted", "OutOfMemory")


@dataclass(frozen=True)
class Failure:
    """A failure as the page shows it: the error line and the status line."""

    message: str  # the error line (below the panels)
    status: str  # the status line: what failed and what to do
    fixable: bool  # whether changing a control can fix it


def message(error: BaseException) -> str:
    """The error line: a check's own words, or the error's type and words."""
    if isinstance(error, (ValueError, TypeError)):
        return str(error) or type(error).__name__
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def out_of_memory(error: BaseException) -> bool:
    name = type(error).__name__
    text = str(error).lower()
    return isinstance(error, MemoryError) or any(kind in name for kind in _OUT_OF_MEMORY) \
        or "out of memory" in text or "resource_exhausted" in text  # JAX's XlaRuntimeError


def describe(error: BaseException, stage: str, ran_before: bool = False,
             several_images: bool = False) -> Failure:
    """The failure of one computation: `stage` is where it failed (IMAGE or KERNEL),
    `ran_before` whether the model has given a map for this image before,
    `several_images` whether the image slider offers others."""
    text = message(error)
    if stage == IMAGE:
        other = "pick another image, or " if several_images else ""
        return Failure(text, "this image could not be fed to the model (see below): "
                       f"{other}pass another image or fix `preprocess` and call show() "
                       "again", fixable=several_images)
    if out_of_memory(error):
        return Failure(text, "out of memory (see below): no control can fix this; free "
                       "memory (close other notebooks or models) or show a smaller image",
                       fixable=False)
    if isinstance(error, (ValueError, TypeError)):
        return Failure(text, "could not explain this setting (see below); change a "
                       "control to retry", fixable=True)
    if ran_before:
        return Failure(text, "could not explain this setting (see below); another method "
                       "or layer may work", fixable=True)
    return Failure(text, "the model could not run on this image (see below): no control "
                   "can fix this; check the model and the image", fixable=False)


__all__ = ["IMAGE", "KERNEL", "Failure", "describe", "message", "out_of_memory"]
