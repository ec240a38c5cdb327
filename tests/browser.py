"""Find a Chromium for the browser tests, installing one if the machine has none.

Order: a Chromium already here (Playwright's own or the distribution's), then
Playwright's own download, then the distribution's package (apt). When none
works it says what is missing and exits 1. Run: `python tests/browser.py`.
"""

import shutil
import subprocess
import sys

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def playwright_chromium() -> str | None:
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            path = p.chromium.executable_path
    except Exception:
        return None
    return path if path and shutil.os.path.exists(path) else None


def system_chromium() -> str | None:
    return next((path for name in SYSTEM_NAMES if (path := shutil.which(name))), None)


def executable_path() -> str | None:
    """The browser the tests launch: None means Playwright's own bundled build."""
    if playwright_chromium():
        return None
    return system_chromium()


def _try(command: list[str], timeout: int) -> bool:
    try:
        return subprocess.run(command, timeout=timeout, capture_output=True).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def install() -> int:
    if playwright_chromium() or system_chromium():
        return 0
    print("No Chromium found; trying Playwright's download…", flush=True)
    if _try([sys.executable, "-m", "playwright", "install", "chromium"], timeout=300) and playwright_chromium():
        return 0
    print("Playwright's download failed; trying the distribution's chromium package…", flush=True)
    if shutil.which("apt-get"):
        _try(["apt-get", "update", "-qq"], timeout=300)
        _try(["apt-get", "install", "-y", "-qq", "chromium"], timeout=900)
    if system_chromium():
        return 0
    print(
        "Missing: a Chromium browser. Neither `playwright install chromium` nor `apt-get install chromium` "
        "worked here; install either one, then run the tests again.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(install())
