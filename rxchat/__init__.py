"""rxchat: live product chat for Reflex stores.

Importing this package builds no app and touches no database. The demo store
lives in rxchat/rxchat.py, which `reflex run` loads.
"""
