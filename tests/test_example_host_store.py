"""examples/host_store, a store of its own, built on rxchat's wheel in a clean venv and passing its own test.

The way a host team meets rxchat: the wheel is built from this checkout and installed with its declared
dependencies into a new venv (nothing of this checkout on the path), beside the example's requirements. In a copy
of the example, `rxchat migrate` and `rxchat create-agent` run on the database its rxconfig.py names, `reflex run
--env prod` serves it from that venv, and the example's own Playwright test (rxchat.testing's page objects) runs
with that venv's pytest: a shopper asks, staff answer, the console shows the store's product and its panel.

Packages come from the registry pip is set to use (the pinned versions of constraints.txt); the pages' JS packages
from this repository's reflex.lock/, which fits the example as it is (the build must leave it unchanged).
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import browser
from server import ROOT, START_TIMEOUT_SECS, VENV_BIN, AppServer

pytestmark = pytest.mark.e2e

EXAMPLE = ROOT / "examples" / "host_store"
INSTALL_TIMEOUT_SECS = 600
LOCK_FILES = ("package.json", "package-lock.json")


def run(command: list[str | Path], *, cwd: Path, env: dict[str, str], timeout: int = 120, stdin: str | None = None):
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} failed ({result.returncode}):\n" + (result.stdout + result.stderr)[-6000:]
    )
    return result.stdout


def clean_env(venv: Path) -> dict[str, str]:
    """This process's environment with the new venv in charge: its bin/ first on PATH (its reflex, node, rxchat),
    none of this checkout's venv or path, the database the one the store's rxconfig.py names."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"VIRTUAL_ENV", "PYTHONPATH", "REFLEX_DB_URL", "RXCHAT_DB_URL"}
    }
    path = [part for part in env.get("PATH", "").split(os.pathsep) if part and Path(part) != VENV_BIN]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    env.update(
        VIRTUAL_ENV=str(venv),
        REFLEX_USE_NPM="1",
        REFLEX_CHECK_LATEST_VERSION="false",
        PYTHONUNBUFFERED="1",
    )
    chromium = browser.executable_path()  # None: Playwright's own build, which the new venv's playwright finds too
    if chromium:
        env["CHROMIUM"] = chromium
    return env


@pytest.mark.timeout(INSTALL_TIMEOUT_SECS + START_TIMEOUT_SECS + 300)
def test_the_example_store_built_on_the_wheel_passes_its_own_test():
    workdir = Path(tempfile.mkdtemp(prefix="rxchat-example-"))
    server = None
    passed = False
    try:
        # The wheel, as `python -m build` makes it (pyproject.toml's pinned build backend, from this venv).
        run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", workdir / "dist", ROOT],
            cwd=ROOT, env=dict(os.environ))  # fmt: skip
        (wheel,) = (workdir / "dist").glob("rxchat-*.whl")

        # A clean venv: the wheel with the dependencies it declares, the example's requirements and its tests'.
        # This venv's pip installs into it (`--python`), at the versions constraints.txt pins.
        venv = workdir / "venv"
        run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=workdir, env=dict(os.environ))
        run([sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "-q", "--no-compile",
             wheel, "-r", EXAMPLE / "requirements-test.txt", "-c", ROOT / "constraints.txt"],
            cwd=workdir, env=dict(os.environ), timeout=INSTALL_TIMEOUT_SECS)  # fmt: skip
        env = clean_env(venv)

        # The store, as its team keeps it, with this repository's JS lock.
        store = workdir / "store"
        shutil.copytree(EXAMPLE, store, ignore=shutil.ignore_patterns(".web", ".states", "*.db", "__pycache__"))
        shutil.copytree(ROOT / "reflex.lock", store / "reflex.lock")
        assert not (store / "assets").exists(), "the example ships no assets of its own: rxchat's come with it"
        installed = run([venv / "bin" / "python", "-c", "import rxchat; print(rxchat.__file__)"], cwd=store, env=env)
        assert Path(installed.strip()).is_relative_to(venv), f"rxchat imported from {installed}, not the wheel"

        # The operator's steps, with the wheel's console command, on the database rxconfig.py names.
        run([venv / "bin" / "rxchat", "migrate"], cwd=store, env=env)
        created = run(
            [venv / "bin" / "rxchat", "create-agent", "--email", "owner@tea.example.com", "--name", "Owner",
             "--password-stdin"], cwd=store, env=env, stdin="a long password for the owner\n",
        )  # fmt: skip
        assert "owner@tea.example.com" in created
        assert (store / "host_store.db").is_file(), "rxchat used another database than the one rxconfig.py names"

        server = AppServer(workdir, env, app_root=store, venv_bin=venv / "bin").start()

        # rxchat's stylesheet came from the wheel: linked from the installed package, bundled into the pages.
        linked = store / "assets" / "external" / "rxchat" / "embed" / "rxchat.css"
        assert linked.resolve().is_relative_to(venv.resolve()), linked.resolve()
        bundled = "".join(css.read_text() for css in (store / ".web" / "build" / "client").rglob("*.css"))
        assert ".chat-widget" in bundled, "the pages carry no rxchat styles"
        for name in LOCK_FILES:  # the build installed the locked JS packages and resolved nothing
            assert (store / "reflex.lock" / name).read_bytes() == (ROOT / "reflex.lock" / name).read_bytes(), name

        # The store's own test, with the new venv's pytest and rxchat.testing's plugin from the wheel.
        result = subprocess.run(
            [venv / "bin" / "python", "-m", "pytest", "-p", "no:cacheprovider", "--base-url", server.url],
            cwd=store,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"the example's test failed:\n{output[-6000:]}\nserver log: {server.log_path}"
        assert "1 passed" in output, output[-3000:]
        passed = True
    finally:
        if server is not None:
            server.stop()
        if passed:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"\nkept for the failure: {workdir}")
