"""CamCompare: one image under several attribution methods, with their faithfulness
numbers. `cells` asks the kernel (maps, AUCs), `grid` composes (numpy/PIL, on the viewer's
`compose`), `widget` is the facade (traits, the viewer's scheduler and transport)."""
from __future__ import annotations

from cam_widgets.compare.widget import CamCompare

__all__ = ["CamCompare"]
