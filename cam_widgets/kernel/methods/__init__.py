"""The methods: one module each, registered by `@register` when this package loads, so a
new method is one new module here and nothing else. The registry order (the viewer's
menu) follows the modules' names, then the order of the classes in a module."""
from __future__ import annotations

import importlib
import pkgutil

from cam_widgets.kernel.methods.base import Method, Option
from cam_widgets.kernel.methods.registry import (
    REGISTRY, get_method, method_names, methods, register)

_SHARED = {"base", "batching", "options", "registry"}  # helpers, not methods
for _module in sorted(info.name for info in pkgutil.iter_modules(__path__)):
    if _module not in _SHARED:
        importlib.import_module(f"{__name__}.{_module}")

__all__ = ["Method", "Option", "REGISTRY", "get_method", "method_names", "methods", "register"]
