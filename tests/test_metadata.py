"""What a skipped asset repeats of its last materialization (orchestration/metadata.py)."""

import dagster as dg

from orchestration.metadata import carried_over

KEY = dg.AssetKey(["marts", "example"])


@dg.asset(key=KEY)
def example() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"dagster/row_count": 3, "preview": dg.MetadataValue.md("| n |"),
                                          "built_in_s": 1.5}, data_version=dg.DataVersion("v1"))


def test_a_skipped_asset_repeats_what_describes_the_rows_of_the_same_data_version_only():
    instance = dg.DagsterInstance.ephemeral()
    assert carried_over(instance, KEY, "v1") is None  # never materialized
    assert dg.materialize([example], instance=instance).success
    carried = carried_over(instance, KEY, "v1")
    assert carried == {"dagster/row_count": dg.MetadataValue.int(3), "preview": dg.MetadataValue.md("| n |")}
    assert carried_over(instance, KEY, "v2") is None  # other rows: counted again
