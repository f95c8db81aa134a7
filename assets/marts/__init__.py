"""Marts: the papers' tables and figures regenerated from the core tables.

`assets.marts.stats` holds the pure statistical functions the mart assets call.
"""
