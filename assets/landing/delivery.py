"""The Dagster resource of the drop zone: the centers' folders, their YAML mappings onto the contract and their
corrections (answers to data queries), read with the landing layer's own parsers."""

from pathlib import Path

import dagster as dg

from assets.landing.center_config import load_centers
from assets.landing.corrections import load_corrections


class DeliveryResource(dg.ConfigurableResource):
    """The drop zone (data/landing/<center_id>/), the YAML files mapping each center onto the contract, and
    the centers' corrections (answers to data queries)."""

    landing_dir: str
    centers_dir: str
    corrections_dir: str = ""

    def centers(self) -> list:
        """Every valid center YAML, parsed (CenterConfig), sorted by center_id; an invalid one is left out
        (config_errors names it), so that one center's typo never stops the others."""
        return list(load_centers(Path(self.centers_dir), errors=[]).values())

    def corrections(self) -> list:
        """Every declared correction (assets/landing/corrections.py), refused ones with their sentence."""
        return load_corrections(Path(self.corrections_dir)) if self.corrections_dir else []

    def config_errors(self) -> list[tuple[str, str]]:
        """(center_id, the problem) of every center YAML that does not load: the file stem is its center_id."""
        errors: list = []
        load_centers(Path(self.centers_dir), errors=errors)
        return [(Path(str(error).split(":", 1)[0]).stem, str(error)) for error in errors]
