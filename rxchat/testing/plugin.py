"""pytest fixtures for testing a store that embeds rxchat.

Loaded by itself wherever rxchat is installed (its `pytest11` entry point), or with
`pytest -p rxchat.testing.plugin`. Importing it imports only the standard library and
pytest: no Reflex, no Playwright, no app, no database. A fixture touches those only when
a test asks for it.

Fixtures:

- `rxchat_env`: the environment rxchat's commands run with; by default this process's,
  so `REFLEX_DB_URL` names the app's database. Override it when the app under test uses
  another database (see below).
- `rxchat_staff`: a new staff account (`StaffAccount` with `email`, `password`, `name`)
  for this test, made with `rxchat create-agent` in `rxchat_env`.
- `rxchat_create_staff`: a function `(name="Test Agent", *, email=None, password=None)`
  making more accounts the same way.
- `rxchat_widget`: `ChatWidget(page)` on pytest-playwright's `page`.
- `rxchat_base_url`: where the app is served; by default pytest-playwright's `base_url`
  (`--base-url`, or `base_url` in the ini file).
- `rxchat_console`: `StaffConsole(page, rxchat_base_url)`, not signed in.

Pointing the fixtures at the app under test, in the host's conftest.py:

    @pytest.fixture
    def rxchat_env(my_served_app):
        return {**os.environ, "REFLEX_DB_URL": my_served_app.db_url}
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from rxchat.testing.staff import StaffAccount, create_staff_account

if TYPE_CHECKING:
    from rxchat.testing.pages import ChatWidget, StaffConsole

__all__ = ["rxchat_base_url", "rxchat_console", "rxchat_create_staff", "rxchat_env", "rxchat_staff", "rxchat_widget"]


@pytest.fixture
def rxchat_env() -> Mapping[str, str]:
    """The environment `rxchat` commands run with for this test: a copy of this process's.
    Override it to name the database of the app under test (`REFLEX_DB_URL`)."""
    return dict(os.environ)


@pytest.fixture
def rxchat_create_staff(rxchat_env: Mapping[str, str]) -> Callable[..., StaffAccount]:
    """A function making a new staff account with `rxchat create-agent` in `rxchat_env`:
    `rxchat_create_staff(name="Test Agent", *, email=None, password=None) -> StaffAccount`.
    Email and password are random unless given; each call runs the command once (about a second)."""

    def create(name: str = "Test Agent", *, email: str | None = None, password: str | None = None) -> StaffAccount:
        return create_staff_account(rxchat_env, name=name, email=email, password=password)

    return create


@pytest.fixture
def rxchat_staff(rxchat_create_staff: Callable[..., StaffAccount]) -> StaffAccount:
    """A new staff account for this test (random email and password, name "Test Agent")."""
    return rxchat_create_staff()


@pytest.fixture
def rxchat_widget(page: Any) -> ChatWidget:
    """`ChatWidget(page)` on pytest-playwright's `page`; call `goto(url)` or `open()` on it."""
    from rxchat.testing.pages import ChatWidget

    return ChatWidget(page)


@pytest.fixture
def rxchat_base_url(request: pytest.FixtureRequest) -> str:
    """Where the app under test is served: pytest-playwright's `base_url` (`--base-url URL`, or
    `base_url` in the ini file). Override this fixture when the test run starts the app itself."""
    base_url = request.getfixturevalue("base_url")
    if not base_url:
        pytest.fail(
            "rxchat_console needs the app's address: pass --base-url, set base_url in the ini file, "
            "or override the rxchat_base_url fixture",
            pytrace=False,
        )
    return str(base_url)


@pytest.fixture
def rxchat_console(page: Any, rxchat_base_url: str) -> StaffConsole:
    """`StaffConsole(page, rxchat_base_url)` on pytest-playwright's `page`, not signed in yet:
    `rxchat_console.login(rxchat_staff.email, rxchat_staff.password)`."""
    from rxchat.testing.pages import StaffConsole

    return StaffConsole(page, rxchat_base_url)
