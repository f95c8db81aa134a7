"""The jobs' executor (orchestration/jobs.py, side_by_side_executor): steps tagged SIDE_BY_SIDE run at the same
time, on threads of the run's process; any other step runs alone; a failure stops only what is downstream of
it. Run through `execute_job`, as `make run` runs the warehouse (execute_in_process replaces the executor)."""

import sys
import threading
import time

import dagster as dg
import pytest

from orchestration.jobs import SIDE_BY_SIDE, side_by_side_executor

# Each step of meeting_job waits here for the other: run one after the other, they never meet (each test sets
# its own, with the time a step waits).
_meeting = threading.Barrier(2)
# step name -> (start, end), perf_counter seconds
_ran: dict[str, tuple[float, float]] = {}
# step name -> it ran in the run's own thread
_in_run_thread: dict[str, bool] = {}


def _timed(name: str, seconds: float = 0.3) -> None:
    start = time.perf_counter()
    time.sleep(seconds)
    _ran[name] = (start, time.perf_counter())
    _in_run_thread[name] = threading.current_thread() is threading.main_thread()


@dg.asset(op_tags=SIDE_BY_SIDE)
def left() -> None:
    _meeting.wait()


@dg.asset(op_tags=SIDE_BY_SIDE)
def right() -> None:
    _meeting.wait()


@dg.asset(op_tags=SIDE_BY_SIDE)
def first_tagged() -> None:
    _timed("first_tagged")


@dg.asset
def untagged() -> None:
    _timed("untagged")


@dg.asset(op_tags=SIDE_BY_SIDE)
def second_tagged() -> None:
    _timed("second_tagged")


@dg.asset(op_tags=SIDE_BY_SIDE)
def fails() -> None:
    raise ValueError("this step fails")


@dg.asset(op_tags=SIDE_BY_SIDE, deps=[fails])
def after_failure() -> None:
    pass


@dg.asset(op_tags=SIDE_BY_SIDE)
def succeeds() -> None:
    _timed("succeeds", 0.05)


def meeting_job() -> dg.JobDefinition:
    return _job("meeting", [left, right])


def mixed_job() -> dg.JobDefinition:
    return _job("mixed", [first_tagged, untagged, second_tagged])


def failing_job() -> dg.JobDefinition:
    return _job("failing", [fails, after_failure, succeeds])


def _job(name: str, assets: list) -> dg.JobDefinition:
    return dg.Definitions(assets=assets, jobs=[dg.define_asset_job(name, executor_def=side_by_side_executor)]
                          ).resolve_job_def(name)


def _execute(job, max_concurrent: int | None = None):
    run_config = {"execution": {"config": {"max_concurrent": max_concurrent}}} if max_concurrent else None
    with dg.instance_for_test() as instance, dg.execute_job(dg.reconstructable(job), instance=instance,
                                                             run_config=run_config) as result:
        return result.success, {event.step_key: event.event_type_value for event in result.all_events
                                if event.is_step_event and event.event_type_value in
                                ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED")}


def _overlap(a: str, b: str) -> bool:
    return _ran[a][0] < _ran[b][1] and _ran[b][0] < _ran[a][1]


def test_tagged_steps_run_at_the_same_time(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "_meeting", threading.Barrier(2, timeout=10))
    success, outcomes = _execute(meeting_job)
    assert success, outcomes
    assert outcomes == {"left": "STEP_SUCCESS", "right": "STEP_SUCCESS"}


def test_one_step_at_a_time_when_max_concurrent_is_1(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "_meeting", threading.Barrier(2, timeout=0.5))
    success, outcomes = _execute(meeting_job, max_concurrent=1)
    assert not success and set(outcomes.values()) == {"STEP_FAILURE"}


def test_a_step_without_the_tag_runs_alone_in_the_runs_thread():
    # In the run's thread, as under Dagster's in-process executor: a terminated run interrupts it there.
    _ran.clear()
    success, _ = _execute(mixed_job)
    assert success
    assert _overlap("first_tagged", "second_tagged")
    assert not _overlap("untagged", "first_tagged") and not _overlap("untagged", "second_tagged")
    assert _in_run_thread == {"first_tagged": False, "untagged": True, "second_tagged": False}


@pytest.mark.parametrize("max_concurrent", [1, 2])
def test_a_failed_step_stops_only_what_reads_it(max_concurrent):
    success, outcomes = _execute(failing_job, max_concurrent)
    assert not success
    # after_failure never starts (Dagster logs it as not executed: no step event); the other branch runs.
    assert outcomes == {"fails": "STEP_FAILURE", "succeeds": "STEP_SUCCESS"}
