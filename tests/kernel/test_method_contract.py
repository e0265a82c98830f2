"""The method contract: every registered method declares what it is and what it takes,
and `explain` holds it to that declaration."""
from __future__ import annotations

import numpy as np
import pytest

import cam_widgets
from cam_widgets import explain
from cam_widgets.kernel.methods import REGISTRY, Method, Option, get_method, register
from tests.kernel.helpers import split_relu


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_method_declares_the_contract(name):
    method = get_method(name)
    assert isinstance(method, Method) and method.name == name
    assert method.paper and method.caption and isinstance(method.uses_layer, bool)
    for option in method.options:
        assert option.check(option.default, name) == option.default
    assert method.check_options({}) == {o.name: o.default for o in method.options}


def test_public_methods_lists_the_registry_with_papers():
    listed = cam_widgets.methods()
    assert [m.name for m in listed] == list(REGISTRY)
    assert {m.name: m.paper for m in listed}["gradcam"] == "Selvaraju et al. 2017"
    assert "n_samples=25" in repr(get_method("smoothgrad"))


def test_options_are_checked_and_filled():
    smoothgrad = get_method("smoothgrad")
    assert smoothgrad.check_options({"noise_level": 1}) == {
        "n_samples": 25, "noise_level": 1, "seed": 0, "chunk_size": 32}
    assert Option("limit", None, int, "a cap", low=1, none_ok=True).check(None, "m") is None
    steps = Option("steps", 8, int, "", low=1)
    assert steps.check(np.int64(3), "m") == 3 and type(steps.check(np.int64(3), "m")) is int
    assert Option("sigma", 0.1, float, "").check(np.float32(0.5), "m") == 0.5
    assert Option("mode", "a", str, "", choices=("a", "b")).allowed() == "one of 'a', 'b'"
    with pytest.raises(ValueError, match=r"must be one of 'mean', 'max'; got 'maxx'\. Did you mean 'max'\?"):
        Option("fusion", "mean", str, "", choices=("mean", "max")).check("maxx", "rollout")


@pytest.mark.parametrize("name, guided, signed", [
    ("gradcam", False, False), ("gradcam", True, True), ("saliency", False, False),
    ("guided_backprop", False, True), ("guided_gradcam", False, True), ("smoothgrad", True, True),
])
def test_results_say_whether_the_map_is_signed(name, guided, signed):
    model = split_relu()
    image = np.array([[[[1.0], [-1.0]], [[2.0], [0.0]]]], np.float32)
    res = explain(model, image, method=name, guided=guided, target=0,
                  **({"n_samples": 2} if name == "smoothgrad" else {}))
    assert res.signed is signed
    if signed:  # zero gradient sits at mid-scale, the largest |value| at 0 or 1
        assert res.maps.min() >= 0 and res.maps.max() <= 1
        assert np.isclose(np.abs(res.maps - 0.5).max(), 0.5)


def test_registering_an_incomplete_or_duplicate_method_fails():
    class NoPaper(Method):
        name = "no_paper"
        caption = "x"
        uses_layer = False

        def compute(self, run):
            raise NotImplementedError

    with pytest.raises(TypeError, match="NoPaper does not declare paper"):
        register(NoPaper)

    class Twice(NoPaper):
        name = "gradcam"
        paper = "none"

    with pytest.raises(ValueError, match="'gradcam' is registered already"):
        register(Twice)

    class BadDefault(NoPaper):
        name = "bad_default"
        paper = "none"
        options = (Option("steps", 0, int, "", low=1),)

    with pytest.raises(ValueError, match="'steps' of 'bad_default' must be int >= 1; got 0"):
        register(BadDefault)
    assert "no_paper" not in REGISTRY and "bad_default" not in REGISTRY


def test_a_new_method_is_one_module_and_every_method_is_in_the_readme():
    import pathlib
    import pkgutil

    import cam_widgets.kernel.methods as package

    helpers = {"base", "batching", "options", "registry"}
    modules = {info.name for info in pkgutil.iter_modules(package.__path__)} - helpers
    homes = {type(method).__module__.rsplit(".", 1)[-1] for method in REGISTRY.values()}
    assert homes == modules  # every method module registered something, nothing else did
    readme = (pathlib.Path(__file__).parents[2] / "README.md").read_text()
    missing = [name for name in REGISTRY if f"`{name}`" not in readme]
    assert not missing, f"README's method list misses {missing}"
