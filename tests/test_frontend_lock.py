"""A fresh clone builds its pages from reflex.lock/ alone: npm installs exactly the locked versions.

The working tree's files that git tracks or would track (not ignored: so a new module not
yet committed comes along) are copied, as a clone of this state would hold them, without
.web/, and the frontend is built there the way `make run` builds it. The build must succeed, leave
reflex.lock/ byte for byte as committed (Reflex writes the lock back after every install), and
install each package at the version the lock names.
"""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from server import ROOT, VENV_BIN, base_env

pytestmark = pytest.mark.e2e  # slow (a frontend build); `-m "not e2e"` leaves it out

LOCK_DIR = "reflex.lock"
LOCK_FILES = ("package.json", "package-lock.json")
BUILD_TIMEOUT_SECS = 900  # a cold npm cache downloads every package once
KEY_PACKAGES = (
    "react",
    "react-dom",
    "react-router",
    "@react-router/dev",
    "@radix-ui/themes",
    "vite",
    "@babel/core",
    "@babel/helper-module-transforms",
    "@babel/helper-module-imports",
)


def git_files(*options: str) -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files", "-z", *options], cwd=ROOT, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    return [name for name in listing.split("\0") if name]


def copy_working_tree(destination: Path) -> None:
    """Tracked files and new files git does not ignore, as a clone of this state would hold them."""
    for name in git_files("--cached", "--others", "--exclude-standard"):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def installed_version(app: Path, lock_key: str) -> str | None:
    manifest = app / ".web" / lock_key / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.exists() else None


@pytest.mark.timeout(BUILD_TIMEOUT_SECS + 120)  # the build's own deadline, not pytest.ini's per-test one
def test_fresh_clone_builds_from_the_committed_lock():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: git cannot tell which files a clone holds")
    tracked = set(git_files("--cached"))
    for name in LOCK_FILES:
        assert f"{LOCK_DIR}/{name}" in tracked, f"{LOCK_DIR}/{name} is not tracked, so a clone lacks it"

    app = Path(tempfile.mkdtemp(prefix="rxchat-lock-"))
    copy_working_tree(app)
    assert not (app / ".web").exists()
    committed = {name: (app / LOCK_DIR / name).read_bytes() for name in LOCK_FILES}

    result = subprocess.run(
        [str(VENV_BIN / "reflex"), "export", "--frontend-only", "--no-zip"],
        cwd=app,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECS,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"the build failed (copy kept in {app}):\n{output[-6000:]}"
    assert (app / ".web" / "build" / "client" / "index.html").exists(), "the build wrote no pages"

    # The build ran npm only: no bun lockfile appeared, and Reflex wrote the lock back unchanged.
    assert sorted(path.name for path in (app / LOCK_DIR).iterdir()) == sorted(LOCK_FILES)
    for name in LOCK_FILES:
        assert (app / LOCK_DIR / name).read_bytes() == committed[name], (
            f"the build rewrote {LOCK_DIR}/{name}: the lock no longer matches what Reflex installs "
            f"(run `make lock`, see README); copy kept in {app}"
        )

    locked = json.loads(committed["package-lock.json"])["packages"]
    for name in KEY_PACKAGES:
        key = f"node_modules/{name}"
        assert key in locked, f"{name} is not in the lock"
        assert installed_version(app, key) == locked[key]["version"], name
    # Every package the lock names is installed at the locked version; optional ones that
    # do not fit this platform (native builds for other systems) are simply absent.
    wrong = {
        key: (entry["version"], version)
        for key, entry in locked.items()
        if key.startswith("node_modules/")
        and not entry.get("link")
        and (version := installed_version(app, key)) != entry.get("version")
        and not (version is None and entry.get("optional"))
    }
    assert not wrong, f"installed versions differ from the lock (locked, installed): {wrong}"
    shutil.rmtree(app, ignore_errors=True)
