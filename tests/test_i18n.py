"""The text catalogs (rxchat/i18n): German is complete, a host's overrides are checked and used, refusals keep
their English for the API and speak the widget's language, and the compiled German widget and console hold no
English."""

import json
import re

import pytest

import rxchat
from rxchat import i18n
from rxchat.i18n import Texts, de, en
from rxchat.services import errors
from rxchat.services.agents import InvalidCredentials


@pytest.fixture(autouse=True)
def clean_overrides():
    i18n.reset_text()
    yield
    i18n.reset_text()


def test_german_has_every_english_text_and_no_other():
    assert set(de.TEXT) == set(en.TEXT)


@pytest.mark.parametrize("catalog", [en.TEXT, de.TEXT], ids=["en", "de"])
def test_no_text_is_empty(catalog):
    assert [key for key, value in catalog.items() if not value.strip()] == []


def test_german_fills_in_the_same_values_as_english():
    differ = {key for key in en.TEXT if i18n.placeholders(de.TEXT[key]) != i18n.placeholders(en.TEXT[key])}
    assert differ == set()


def test_a_host_overrides_a_text_in_one_language():
    rxchat.set_text({"de": {"widget.title": "Fragen zum Kessel?"}})
    assert Texts("de")("widget.title") == "Fragen zum Kessel?"
    assert Texts("en")("widget.title") == en.TEXT["widget.title"]
    assert Texts("de")("widget.send") == de.TEXT["widget.send"]


def test_overrides_are_checked_before_any_is_taken():
    with pytest.raises(KeyError, match="widget.titel"):
        rxchat.set_text({"de": {"widget.title": "Gut", "widget.titel": "Tippfehler"}})
    with pytest.raises(ValueError, match="never given"):
        rxchat.set_text({"de": {"widget.unread_replies": "{anzahl} neu"}})
    with pytest.raises(ValueError, match="non-empty"):
        rxchat.set_text({"en": {"widget.title": " "}})
    with pytest.raises(ValueError, match="language code"):
        rxchat.set_text({"German": {"widget.title": "Fragen?"}})
    assert Texts("de")("widget.title") == de.TEXT["widget.title"]


def test_a_host_adds_a_language_and_what_it_leaves_out_is_english():
    rxchat.set_text({"fr": {"widget.title": "Des questions ?"}})
    assert "fr" in i18n.locales()
    assert Texts("fr")("widget.title") == "Des questions ?"
    assert Texts("fr")("widget.send") == "Send"


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="no texts in 'xx'"):
        Texts("xx")


def test_the_setting_chooses_the_default_language(monkeypatch):
    from rxchat.settings import settings

    monkeypatch.setattr(settings, "locale", "de")
    assert Texts().locale == "de"
    assert Texts("en").locale == "en"


def test_numbers_are_grouped_as_the_language_writes_them():
    refused = errors.MessageTooLong(4000, 4001)
    assert refused.message == "Your message is 4,001 characters long; the limit is 4,000. Please shorten it."
    assert refused.sentence("de") == "Ihre Nachricht ist 4.001 Zeichen lang; erlaubt sind 4.000. Bitte kürzen Sie sie."


def test_refusals_keep_their_english_for_the_api_whatever_a_host_overrides():
    rxchat.set_text({"en": {"error.message_empty": "Please write something first."}})
    refused = errors.EmptyMessage()
    assert refused.message == errors.EmptyMessage.message == "Type a message before sending."
    assert refused.sentence("en") == "Please write something first."
    assert refused.sentence("de") == "Bitte schreiben Sie eine Nachricht, bevor Sie senden."
    assert InvalidCredentials.message == en.TEXT["error.invalid_credentials"]


def test_rate_limits_say_how_long_to_wait_in_the_language():
    assert errors.RateLimited(45).sentence("de") == de.TEXT["error.rate_limited"].format(seconds=45)
    assert errors.RateLimited(61, key="error.too_many_sessions").message.endswith("in 2 minutes.")


def test_a_sentence_of_its_own_stays_as_written():
    assert errors.ChatError("Another sweep is running now.").sentence("de") == "Another sweep is running now."


# --- the compiled components ------------------------------------------------------------------------------------


def _rendered(locale: str) -> str:
    from rxchat.components.canned import canned_page
    from rxchat.components.console import console_layout, login_form
    from rxchat.components.reports import reports_page
    from rxchat.components.widget import chat_widget

    t = Texts(locale)
    parts = [chat_widget(locale=locale), console_layout(t), login_form(t), canned_page(t), reports_page(t)]
    return "".join(json.dumps(part.render(), ensure_ascii=False, default=str) for part in parts)


def _pieces(value: str) -> list[str]:
    """The literal words of a text around its `{name}` fields."""
    return [piece.strip() for piece in re.split(r"\{\w+\}", value) if len(piece.strip()) >= 3]


def _count(text: str, piece: str) -> int:
    return len(re.findall(r"(?<![\w])" + re.escape(piece) + r"(?!\w)", text))


def test_the_german_widget_and_console_hold_no_english():
    """Every English text left in the German pages would show: count each one's words in the German render
    and in a render whose every text is a marker; the code's own names (a status "closed") are in both."""
    rxchat.set_text(
        {
            "xx": {
                key: f"@@{key} " + " ".join(f"{{{p}}}" for p in i18n.placeholders(value)) + "@@"
                for key, value in en.TEXT.items()
            }
        }
    )
    german, marked = _rendered("de"), _rendered("xx")
    assert "@@widget.title" in marked
    left = sorted(
        (key, piece)
        for key, value in en.TEXT.items()
        if value != de.TEXT[key]
        for piece in _pieces(value)
        if _count(german, piece) > _count(marked, piece)
    )
    assert left == []


def test_a_widget_takes_its_title_greeting_corner_and_accent():
    from rxchat.components.widget import chat_widget

    widget = chat_widget(
        title="Fragen zum Kessel?", greeting="Moin!", accent_color="crimson", position="bottom-left", locale="de"
    )
    rendered = json.dumps(widget.render(), ensure_ascii=False, default=str)
    assert "Fragen zum Kessel?" in rendered and "Moin!" in rendered
    assert de.TEXT["widget.title"] not in rendered
    assert "chat-widget-bottom-left" in rendered and "crimson" in rendered
    with pytest.raises(ValueError, match="position"):
        chat_widget(position="top-left")
    with pytest.raises(ValueError, match="accent_color"):
        chat_widget(accent_color="chartreuse")
