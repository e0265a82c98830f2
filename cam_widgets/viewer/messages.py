"""A message line beside a control: what was wrong with the value typed there (hidden
while there is nothing to say)."""

from __future__ import annotations

import html

import ipywidgets as widgets

CSS_CLASS = "cam-widgets-error"  # the page's error colour (`layout`), in both themes
INDENT = "112px"  # under the control's box, past its label (`controls.LABEL_STYLE`)


def message_line() -> widgets.HTML:
    """An empty, hidden message line."""
    return widgets.HTML(layout=widgets.Layout(display="none", margin=f"0 0 4px {INDENT}"))


def say(line: widgets.HTML, text: str) -> None:
    """Show `text` on `line` (an empty text hides it)."""
    line.value = (f'<div class="{CSS_CLASS}" style="line-height: 1.3">'
                  f'<small>{html.escape(text)}</small></div>' if text else "")
    line.layout.display = None if text else "none"


__all__ = ["message_line", "say"]
