"""The study report: one self-contained HTML page per study (warehouse/report/<study>.html), after the marts and
the snapshot. context.py reads the warehouse as small aggregates, figures.py embeds the marts' SVG figures,
render.py fills the Jinja2 templates (tables by great_tables), assets.py is the Dagster asset per study.
"""
