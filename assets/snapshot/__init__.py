"""The analyst snapshot: warehouse/analytics.duckdb, published after the marts."""
