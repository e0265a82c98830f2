"""Starting the private local Ray node: one more start when the first one is slow to
register its raylet (Ray's fixed 30 s, which a loaded machine can exceed); any other
failure, or a second slow start, is raised. A stand-in for the `ray` module: no cluster."""
from __future__ import annotations

import pytest

from cam_widgets.audit import ray_engine


class StandIn:
    """The calls `connect` makes, with `init` failing as told, in order."""

    def __init__(self, failures: list[str]) -> None:
        self.failures, self.calls = list(failures), []

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs) -> None:
        self.calls.append(("init", kwargs["_node_ip_address"]))
        if self.failures:
            raise Exception(self.failures.pop(0))

    def shutdown(self) -> None:
        self.calls.append(("shutdown", None))


@pytest.fixture
def stand_in(monkeypatch):
    def make(failures: list[str]) -> StandIn:
        ray = StandIn(failures)
        monkeypatch.setattr(ray_engine, "_ray", lambda: ray)
        monkeypatch.delenv("RAY_ADDRESS", raising=False)
        return ray
    return make


SLOW = "The current node timed out during startup. This could happen because ..."


def test_a_slow_first_start_is_shut_down_and_started_again_on_loopback(stand_in):
    ray = stand_in([SLOW])
    ray_engine.connect()
    assert ray.calls == [("init", "127.0.0.1"), ("shutdown", None), ("init", "127.0.0.1")]


def test_two_slow_starts_are_raised(stand_in):
    ray = stand_in([SLOW, SLOW])
    with pytest.raises(Exception, match="timed out during startup"):
        ray_engine.connect()
    assert [name for name, _ in ray.calls] == ["init", "shutdown", "init"]


def test_another_failure_is_raised_at_once(stand_in):
    ray = stand_in(["port 6379 is taken"])
    with pytest.raises(Exception, match="port 6379"):
        ray_engine.connect()
    assert ray.calls == [("init", "127.0.0.1")]
