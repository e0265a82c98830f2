"""Bindings between a control and a trait: both ways, with conversions, muted while they
move the other side, and closed when a control leaves the page."""

from __future__ import annotations

import ipywidgets as widgets
from traitlets import HasTraits, Int

from cam_widgets.viewer.controls import Binding, ignore, quiet


class Owner(HasTraits):
    value = Int(0)


def bound() -> tuple[Owner, widgets.Text, Binding, list]:
    owner, text, seen = Owner(), widgets.Text("0"), []
    owner.observe(lambda change: seen.append(change["new"]), names="value")
    binding = Binding(text, owner, "value",
                      lambda t: int(t) if t.strip().isdigit() else ignore(), str)
    return owner, text, binding, seen


def test_a_binding_works_both_ways_with_its_conversions():
    owner, text, _, seen = bound()
    text.value = "12"
    assert owner.value == 12 and seen == [12]
    text.value = "twelve"  # `ignore()`: the trait stays
    assert owner.value == 12 and text.value == "twelve"
    owner.value = 5
    assert text.value == "5" and seen == [12, 5]


def test_quiet_mutes_bindings_and_nests():
    owner, text, binding, _ = bound()
    with quiet(binding):
        with quiet(binding):
            text.value = "3"
        assert binding.muted  # the outer block still mutes it
        text.value = "4"
    assert owner.value == 0 and not binding.muted
    text.value = "6"
    assert owner.value == 6


def test_a_closed_binding_follows_neither_side():
    owner, text, binding, _ = bound()
    binding.close()
    text.value = "7"
    owner.value = 9
    assert owner.value == 9 and text.value == "7"
