"""Warnings collected while the viewer computes: ours become notices, the others go on
to Python's filters, and one block collects at a time."""

from __future__ import annotations

import warnings

import pytest

from cam_widgets.viewer.notices import caught_warnings


def test_caught_warnings_keeps_our_own_and_passes_on_the_others():
    with pytest.warns(UserWarning, match="from the user's code") as passed:
        with caught_warnings() as notices:
            warnings.warn("from the user's code", UserWarning)  # this file: not ours
            _warn_as_the_package("pixel values not rescaled")
    assert notices == ["pixel values not rescaled"]
    assert len(passed) == 1 and passed[0].filename == __file__


def _warn_as_the_package(message: str) -> None:
    """A warning attributed to a cam_widgets module, as the kernel's are when the
    viewer calls it."""
    import cam_widgets.viewer.explainer as inside

    warnings.warn_explicit(message, UserWarning, inside.__file__, 1,
                           module=inside.__name__)


def test_one_block_collects_at_a_time_and_a_block_that_cannot_wait_collects_nothing():
    with caught_warnings() as outer:
        with caught_warnings(wait=False) as inner:  # as the event loop's thread would
            _warn_as_the_package("resized to the model's input")
        assert inner == []
    assert outer == ["resized to the model's input"]
