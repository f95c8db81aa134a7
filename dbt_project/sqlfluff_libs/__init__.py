"""What sqlfluff's jinja templater (`.sqlfluff`, `make lint`) needs beyond its dbt builtins to render the models
without dbt: the project's real var defaults (dbt_project.yml), so that every branch a default run compiles is the
one linted, and dbt's `exceptions`. Nothing is queried at lint time (`execute` is false, as while dbt parses)."""

from pathlib import Path

import yaml

_VARS = yaml.safe_load((Path(__file__).parents[1] / "dbt_project.yml").read_text())["vars"]

execute = False


def var(name, default=None):
    """dbt's var(): the project default, else `default` (e.g. `centers`, set only by partial runs)."""
    return _VARS.get(name, default)


class exceptions:
    @staticmethod
    def raise_compiler_error(message):
        raise ValueError(message)
