"""Landing layer: read each center's delivered files per its YAML and land them as text with provenance."""
