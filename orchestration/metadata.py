"""Asset metadata helpers: small markdown tables and images for the Dagster UI."""

import base64
from collections.abc import Mapping, Sequence


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def png_markdown(pngs: Mapping[str, bytes]) -> str:
    """PNGs as markdown data-URI images, for a MetadataValue.md: Dagster has no image metadata type."""
    return "\n\n".join(f"![{name}](data:image/png;base64,{base64.b64encode(png).decode()})"
                        for name, png in pngs.items())
