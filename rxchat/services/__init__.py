"""The service layer: plain async Python that owns every rule.

UI states, the HTTP API and the CLI call these functions; none of them talks to
the database on its own. Nothing here imports Reflex.
"""
