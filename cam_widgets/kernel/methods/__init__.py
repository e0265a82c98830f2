"""The method registry: name -> method. A new method is a module here plus one entry."""
from __future__ import annotations

import difflib

from cam_widgets.kernel.methods.cam import GradCAM, GradCAMPlusPlus, GuidedGradCAM, LayerCAM
from cam_widgets.kernel.methods.gradient import GuidedBackprop, Saliency, SmoothGrad

REGISTRY = {
    method.name: method()
    for method in (GradCAM, GradCAMPlusPlus, LayerCAM, Saliency, SmoothGrad,
                   GuidedBackprop, GuidedGradCAM)
}


def method_names() -> list[str]:
    """Names of the registered methods, in registry order."""
    return list(REGISTRY)


def get_method(name: str):
    """The registered method called `name`; a ValueError naming close matches if none."""
    if name in REGISTRY:
        return REGISTRY[name]
    close = difflib.get_close_matches(str(name), REGISTRY, n=2, cutoff=0.4)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise ValueError(
        f"Unknown method {name!r}.{hint} Available: {', '.join(REGISTRY)}."
    )
