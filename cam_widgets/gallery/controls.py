"""The gallery's menus and buttons, each bound both ways to a setting (a traitlet of
CamGallery): moving a control sets the trait, setting the trait from code moves it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import traitlets

from cam_widgets.gallery.data import SORT_KEYS

_STYLE = {"description_width": "72px"}
#: a menu's value for "no filter": a Dropdown given None selects nothing and shows a blank
#: box, so the setting's None is this value in the menu
ANY = "any"
MENU_PX = 230  # a menu's width, label included: "energy_in_box" and class names show


def _menu(description: str, options: list[Any]) -> widgets.Dropdown:
    return widgets.Dropdown(options=options, description=description, style=_STYLE,
                            layout=widgets.Layout(width=f"{MENU_PX}px", max_width="100%",
                                                  flex="0 1 auto"))


def _tick(description: str) -> widgets.Checkbox:
    return widgets.Checkbox(description=description, indent=False,
                            layout=widgets.Layout(width="auto", flex="0 0 auto"))


def _row(children: list[widgets.Widget]) -> widgets.Box:
    return widgets.Box(children, layout=widgets.Layout(flex_flow="row wrap",
                                                       align_items="center", width="100%"))


@dataclass
class Controls:
    """The control rows (`widget`) and the page buttons with their label."""

    widget: widgets.Box
    menus: dict[str, widgets.Dropdown]  # setting -> its menu
    previous: widgets.Button
    following: widgets.Button
    page_label: widgets.HTML

    def show_page(self, page: int, pages: int) -> None:
        self.page_label.value = f"page {page + 1} of {pages}"
        self.previous.disabled = page <= 0
        self.following.disabled = page >= pages - 1


def _to_menu(value: Any) -> Any:
    return ANY if value is None else value


def _from_menu(value: Any) -> Any:
    return None if value == ANY else value


def build(gallery: traitlets.HasTraits, classes: list[tuple[str, int]]) -> Controls:
    """Menus for sort, predicted and true class (`classes`: (name, index) pairs; "any"
    comes first), ticks for order and misclassified, and page buttons, bound to
    `gallery`."""
    sort = _menu("sort by", list(SORT_KEYS))
    predicted = _menu("predicted", [(ANY, ANY), *classes])
    label = _menu("true class", [(ANY, ANY), *classes])
    descending, wrong = _tick("descending"), _tick("misclassified only")
    for control, trait in ((sort, "sort_by"), (descending, "descending"),
                           (wrong, "misclassified")):
        traitlets.link((gallery, trait), (control, "value"))  # the settings given win
    for control, trait in ((predicted, "predicted"), (label, "label")):
        traitlets.link((gallery, trait), (control, "value"), transform=(_to_menu, _from_menu))
    button = dict(layout=widgets.Layout(width="auto", min_width="36px", flex="0 0 auto"))
    previous = widgets.Button(description="◀", tooltip="previous page", **button)
    following = widgets.Button(description="▶", tooltip="next page", **button)
    previous.on_click(lambda _: setattr(gallery, "page", max(0, gallery.page - 1)))
    following.on_click(lambda _: setattr(gallery, "page", gallery.page + 1))  # clamped
    page_label = widgets.HTML(layout=widgets.Layout(width="auto", margin="0 6px"))
    pager = widgets.Box([previous, page_label, following], layout=widgets.Layout(
        align_items="center", flex="0 0 auto"))
    rows = [_row([sort, descending]), _row([predicted, label]), _row([wrong, pager])]
    return Controls(widgets.VBox(rows, layout=widgets.Layout(width="100%")),
                    {"sort_by": sort, "predicted": predicted, "label": label}, previous,
                    following, page_label)
