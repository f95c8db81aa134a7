"""Every test's deliveries are synthetic: they opt in to the public pseudonym key (orchestration/pseudonym_key.py),
as a user does with BLINA_PSEUDONYM_KEY=demo. Tests of the refusal remove the variable themselves."""

import os


def pytest_configure(config) -> None:
    os.environ.setdefault("BLINA_PSEUDONYM_KEY", "demo")
