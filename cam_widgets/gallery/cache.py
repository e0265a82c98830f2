"""A small least-recently-used store for rendered thumbnails: paging back and forth
reuses them, and memory stays at a few pages however many images are browsed."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np


class ThumbnailCache:
    """At most `capacity` thumbnails; the least recently used goes first."""

    def __init__(self, capacity: int) -> None:
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self.capacity = capacity

    @property
    def capacity(self) -> int:
        return self._capacity

    @capacity.setter
    def capacity(self, value: int) -> None:
        if int(value) < 1:
            raise ValueError(f"A thumbnail cache holds at least 1 thumbnail; got {value}.")
        self._capacity = int(value)
        self._trim()

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[Hashable]:
        """The keys held, least recently used first."""
        return list(self._items)

    def get(self, key: Hashable, make: Callable[[], np.ndarray]) -> np.ndarray:
        """The thumbnail stored under `key`, made by `make()` if absent."""
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = self._items[key] = make()
        self._trim()
        return value

    def _trim(self) -> None:
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)
