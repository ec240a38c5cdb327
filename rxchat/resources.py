"""The files rxchat ships beside its code: the Alembic scripts and the assets (styles, demo pictures).

A checkout (or an editable install of one) keeps them in the repository's top-level `alembic/` and
`assets/`; the wheel carries the same folders inside the package as `rxchat/_alembic/` and
`rxchat/_assets/` (pyproject.toml maps them). The packaged copy is taken when it is there.
"""

from importlib import resources
from pathlib import Path
from typing import Literal

CHECKOUT = Path(__file__).resolve().parent.parent


def shipped_dir(name: Literal["alembic", "assets"]) -> Path:
    """The folder `name` of this installation, as a real directory (Alembic and Reflex read files by path)."""
    packaged = resources.files("rxchat") / f"_{name}"
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    # Only beside a checkout's pyproject.toml: in site-packages, "alembic" would be Alembic itself.
    if (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / name).is_dir():
        return CHECKOUT / name
    raise FileNotFoundError(f"rxchat's {name} folder is missing: neither {packaged} nor a checkout's {name}/ is there.")
