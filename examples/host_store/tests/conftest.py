import os

import pytest


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """CHROMIUM=/path/to/chromium runs the tests on that browser rather than Playwright's own download."""
    if not os.environ.get("CHROMIUM"):
        return browser_type_launch_args
    return {**browser_type_launch_args, "executable_path": os.environ["CHROMIUM"], "args": ["--no-sandbox"]}
