"""ActorPool's bookkeeping without a Ray cluster: every job runs once though actors die.

The pool takes the `ray` module as an argument (our seam); here it gets a stand-in with
the three calls the pool makes (wait, get, kill) and Ray's exception names, and actors
whose results are computed when fetched. The real thing runs in test_ray_cluster.py.
"""
from __future__ import annotations

import types

import pytest

from cam_widgets.audit.ray_pool import ActorPool


class ActorDied(Exception):
    pass


class Lost(Exception):
    pass


class Ref:
    def __init__(self, compute) -> None:
        self.compute = compute


class Method:
    def __init__(self, function) -> None:
        self.function = function

    def remote(self, *args):
        return Ref(lambda: self.function(*args))


class Actor:
    """Doubles a job; dies (for good) on the call numbered `dies_on`."""

    def __init__(self, name: str, dies_on: int | None) -> None:
        self.name, self.dies_on, self.calls, self.dead, self.killed = name, dies_on, 0, False, False
        self.ready = Method(lambda: {"node": name})
        self.run = Method(self._run)

    def _run(self, job):
        self.calls += 1
        if self.dead or self.calls == self.dies_on:
            self.dead = True
            raise ActorDied(self.name)
        if job == "bug":
            raise ZeroDivisionError("a bug in the job")
        return job * 2


def fake_ray():
    exceptions = types.SimpleNamespace(RayActorError=ActorDied, ObjectLostError=Lost,
                                       NodeDiedError=Lost, WorkerCrashedError=Lost)
    return types.SimpleNamespace(
        exceptions=exceptions,
        wait=lambda refs, num_returns, timeout: (refs[:1], refs[1:]),
        get=lambda ref: ref.compute(),
        kill=lambda actor: setattr(actor, "killed", True))


def test_jobs_of_a_dead_actor_run_once_on_the_others():
    made = []
    plans = iter([3, None, None])  # the first actor dies on its third call

    def make():
        made.append(Actor(f"a{len(made)}", next(plans)))
        return made[-1]

    pool = ActorPool(fake_ray(), make, size=2, depth=2)
    results, ready = [], []
    pool.run(list(range(10)), lambda result, actor: results.append((result, actor.name)),
             ready.append)
    pool.close()
    assert sorted(r for r, _ in results) == [2 * j for j in range(10)]  # each job once
    assert pool.replaced == 1 and len(made) == 3  # one new actor took the dead one's place
    assert {"a0", "a1", "a2"} >= {name for _, name in results}
    assert made[0].killed and all(a.killed for a in made)  # close() stops every actor
    assert ready[:2] == [{"node": "a0"}, {"node": "a1"}]  # a2 was not needed in the end


def test_an_error_in_a_job_is_raised_not_retried():
    pool = ActorPool(fake_ray(), lambda: Actor("a", None), size=1)
    with pytest.raises(ZeroDivisionError, match="a bug in the job"):
        pool.run([1, "bug", 2], lambda result, actor: None)
    assert pool.replaced == 0


def test_the_actor_class_writes_the_local_engines_file(shapes, held_out, tmp_path):
    """Explainer, called as a plain object: the file it writes is the local engine's."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pytest.importorskip("ray", reason="Ray is in the test extra")
    from cam_widgets import explain_to_parquet
    from cam_widgets.audit.plan import Plan
    from cam_widgets.audit.ray_engine import NODE_KEY, Explainer, model_bytes
    from cam_widgets.audit.rows import schema
    from cam_widgets.audit.sources import ArraySource

    explain_to_parquet(shapes, held_out.images[:8], tmp_path / "local", batch_size=4,
                       map_size=(16, 16))
    plan = Plan(ArraySource(held_out.images[:8]), str(tmp_path / "actor"), "gradcam", None,
                False, schema(pa.int64(), (16, 16)), 4)
    actor = Explainer(model_bytes(shapes), plan, 1)
    assert actor.ready()["load_s"] > 0
    assert actor.run([4, 5, 6, 7]) == {"node": "", "written": 4, "failed": {}}
    (written,) = (tmp_path / "actor").iterdir()
    local = tmp_path / "local" / written.name  # the same name: the same batch
    assert pq.read_schema(written).metadata[NODE_KEY] == b""
    assert pq.read_table(written).equals(pq.read_table(local))
