"""The method registry: name -> method. A method registers itself with `@register`."""
from __future__ import annotations

import difflib

from cam_widgets.kernel.methods.base import Method

REGISTRY: dict[str, Method] = {}


def register(method: type[Method]) -> type[Method]:
    """Add a Method subclass to the registry under its `name` (usable as a decorator).

    Its declaration is checked here, so a method that misses part of the contract fails
    when it is registered, not when a user first picks it.
    """
    missing = [attribute for attribute in ("name", "paper", "caption", "uses_layer")
               if not hasattr(method, attribute)]
    if missing:
        raise TypeError(f"{method.__name__} does not declare {', '.join(missing)}.")
    if method.name in REGISTRY:
        raise ValueError(f"A method named {method.name!r} is registered already.")
    for option in method.options:
        option.check(option.default, method.name)  # defaults obey their own limits
    REGISTRY[method.name] = method()
    return method


def method_names() -> list[str]:
    """Names of the registered methods, in registry order."""
    return list(REGISTRY)


def methods() -> list[Method]:
    """The registered methods, each with its `name`, `paper`, `caption` and `options`."""
    return list(REGISTRY.values())


def get_method(name: str | Method) -> Method:
    """The registered method called `name` (a Method instance is returned as it is); a
    ValueError naming close matches if none."""
    if isinstance(name, Method):
        return name
    if name in REGISTRY:
        return REGISTRY[name]
    close = difflib.get_close_matches(str(name), REGISTRY, n=3, cutoff=0.4)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise ValueError(
        f"Unknown method {name!r}.{hint} Available: {', '.join(REGISTRY)}."
    )
