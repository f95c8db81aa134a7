"""Dagster assets of the blinatumomab warehouse, one package per layer."""
