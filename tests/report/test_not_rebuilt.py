"""Which marts the last run did not rebuild, from the Dagster instance's record (assets/report/context.py)."""

import dagster as dg

from assets.report.context import not_rebuilt

failing = {"now": False}


@dg.asset(key=["marts", "broken"])
def broken() -> dg.MaterializeResult:
    if failing["now"]:
        raise ValueError("cd3_abs: cannot compare 'x' with a number")
    return dg.MaterializeResult()


@dg.asset(key=["marts", "downstream"], deps=[broken])
def downstream() -> dg.MaterializeResult:
    return dg.MaterializeResult()


@dg.asset(key=["marts", "fine"])
def fine() -> dg.MaterializeResult:
    return dg.MaterializeResult()


@dg.asset(key=["core", "labs"])
def labs() -> dg.MaterializeResult:
    return dg.MaterializeResult()


def test_a_failed_step_and_the_steps_it_kept_from_running_are_named_until_they_are_rebuilt():
    instance = dg.DagsterInstance.ephemeral()
    everything = [broken, downstream, fine, labs]
    failing["now"] = False
    assert dg.materialize(everything, instance=instance).success
    assert not_rebuilt(instance) == {}
    failing["now"] = True
    run = dg.materialize(everything, instance=instance, raise_on_error=False)
    assert not run.success
    found = not_rebuilt(instance)
    assert set(found) == {"marts.broken", "marts.downstream"}
    reason, failed = found["marts.broken"]
    assert failed and f"run {run.run_id[:8]}" in reason and "ValueError: cd3_abs: cannot compare" in reason
    assert found["marts.downstream"][1] is False and "was not rebuilt" in found["marts.downstream"][0]
    failing["now"] = False
    assert dg.materialize(everything, instance=instance).success
    assert not_rebuilt(instance) == {}
