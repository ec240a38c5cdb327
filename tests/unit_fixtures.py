"""Fixtures the unit tests share (conftest.py loads this module as a plugin).

- `db`: a session on a fresh SQLite file at the newest schema with the demo catalog, per test.
- `app`, `client`: the HTTP API as served, on one SQLite file per module (`database`), and an httpx client.
  A module overrides `api_settings` to run its app with other settings (rate limits lifted, say).

Helpers that import rxchat are imported when a fixture runs: loading this module imports nothing of
rxchat, so conftest.py's test settings are in place first and a browser-only run never loads the API.
"""

from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio


@pytest.fixture
async def db(tmp_path):
    """A session on a fresh SQLite file at the newest schema, with the demo catalog."""
    from factories import migrated_database

    async with migrated_database(tmp_path / "chat.db") as session:
        yield session


@pytest.fixture(scope="module")
def database(request, tmp_path_factory) -> Path:
    """The module's SQLite file for `app`, which migrates and seeds it."""
    return tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2]) / "api.db"


@pytest.fixture(scope="module")
def api_settings() -> dict[str, Any]:
    """rxchat settings (attribute -> value) `app` runs with; a module overrides this fixture to change them."""
    return {}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def app(request, database, api_settings):
    """The HTTP API as rx.App(api_transformer=...) serves it, on the module's database.

    A module that needs the app while collecting (schemathesis reads its OpenAPI document then) builds it
    itself as the module-level `APP`; this fixture then serves that one.
    """
    import api_support
    from rxchat.settings import settings

    served = getattr(request.module, "APP", None) or api_support.served_app()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in api_settings.items():
            patch.setattr(settings, name, value)
        async with api_support.api_database(database):
            yield served


@pytest_asyncio.fixture(loop_scope="module")
async def client(app):
    """An httpx client on `app`."""
    import api_support

    async with api_support.client_for(app) as c:
        yield c
