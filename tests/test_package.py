"""The package's public face: importing it is free of side effects, its exports resolve."""

import subprocess
import sys


def test_importing_rxchat_loads_neither_reflex_nor_a_database():
    probe = "import sys, rxchat; print(sorted(m for m in ('reflex', 'sqlalchemy', 'aiosqlite') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_public_names_resolve_to_the_widget_and_embedding_calls():
    import rxchat

    assert set(rxchat.__all__) == {
        "ChatWidgetState",
        "Product",
        "STYLESHEET",
        "add_chat",
        "chat_widget",
        "http_api",
        "set_text",
    }
    for name in rxchat.__all__:
        assert getattr(rxchat, name) is not None
    assert callable(rxchat.chat_widget) and callable(rxchat.add_chat)


def test_the_stylesheet_travels_in_the_package_and_is_linked_into_the_app_being_compiled(tmp_path, monkeypatch):
    from pathlib import Path

    import rxchat
    from rxchat import embed

    monkeypatch.chdir(tmp_path)  # the host app's directory, as `reflex run` compiles it
    monkeypatch.delenv("REFLEX_BACKEND_ONLY", raising=False)
    assert embed._link_stylesheet() == rxchat.STYLESHEET == "/external/rxchat/embed/rxchat.css"
    linked = tmp_path / "assets" / rxchat.STYLESHEET.lstrip("/")
    assert linked.resolve() == (Path(embed.__file__).parent / "rxchat.css").resolve()
    assert ".chat-widget" in linked.read_text()
