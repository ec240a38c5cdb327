"""Every sentence and label rxchat shows, in one catalog per language, keyed by message id.

`en.py` (English, the default) and `de.py` (German) hold the catalogs; a host replaces any entry, or adds a
language, with `rxchat.set_text({"de": {"widget.title": "..."}})` before its app is compiled.

- Components take their words when the page is compiled: `Texts(locale)` (the widget's `locale=`, else the
  RXCHAT_LOCALE setting, else English).
- Sentences set at run time (a refusal in `chat-error`, a notice) are looked up in the tab's language by the
  state that shows them: `text(key, locale, **params)`, or `ChatError.sentence(locale)` for a refusal.
- The HTTP API and the CLI speak the shipped English (`english`): integrators and operators read the same
  sentences whatever a host overrides.

No Reflex here (the services use it); `Texts.var` imports Reflex when a component asks for a Var.
"""

import re
import string
from collections.abc import Mapping
from typing import Any

from rxchat.i18n import de, en

DEFAULT_LOCALE = "en"
SHIPPED: dict[str, dict[str, str]] = {"en": en.TEXT, "de": de.TEXT}
LOCALE_PATTERN = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
# How a language groups the digits of a number: 4,001 in English, 4.001 in German.
_GROUP_SEPARATORS = {"de": "."}

_overrides: dict[str, dict[str, str]] = {}  # a host's entries, by language (set_text)


def placeholders(template: str) -> set[str]:
    """The `{name}` fields a template fills in."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def locales() -> tuple[str, ...]:
    """The languages there are texts for: the shipped ones, and any a host added with `set_text`."""
    return tuple(dict.fromkeys([*SHIPPED, *_overrides]))


def resolve_locale(locale: str | None = None) -> str:
    """`locale`, else the RXCHAT_LOCALE setting, else English. ValueError for a language with no texts."""
    from rxchat.settings import settings

    chosen = locale or settings.locale or DEFAULT_LOCALE
    if chosen not in locales():
        raise ValueError(
            f"rxchat has no texts in {chosen!r}; it has {', '.join(locales())} (rxchat.set_text adds more)"
        )
    return chosen


def set_text(texts: Mapping[str, Mapping[str, str]]) -> None:
    """Replace catalog entries, by language then message id: `set_text({"de": {"widget.title": "Fragen?"}})`.

    Ids are those of rxchat/i18n/en.py; a text may use that entry's `{name}` fields and no others (write a
    literal brace twice). A language rxchat does not ship can be added the same way; what it leaves out is
    shown in English. Call it when your app module is imported, before the app is compiled: the pages take
    their words then, and the server looks up run-time sentences in the same catalog.
    """
    checked: dict[str, dict[str, str]] = {}
    for locale, entries in texts.items():
        if not isinstance(locale, str) or not LOCALE_PATTERN.fullmatch(locale):
            raise ValueError(f"{locale!r} is not a language code such as 'en' or 'de'")
        for key, value in entries.items():
            if key not in en.TEXT:
                raise KeyError(f"rxchat has no text {key!r} (the ids are those of rxchat/i18n/en.py)")
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"the text for {key!r} must be a non-empty string")
            extra = placeholders(value) - placeholders(en.TEXT[key])
            if extra:
                raise ValueError(f"the text for {key!r} names {sorted(extra)}, which it is never given")
        checked[locale] = dict(entries)
    for locale, entries in checked.items():
        _overrides.setdefault(locale, {}).update(entries)


def reset_text() -> None:
    """Forget every entry `set_text` made (tests)."""
    _overrides.clear()


def template(key: str, locale: str) -> str:
    """The entry `key` in `locale`: the host's, else the shipped one, else English's (KeyError for an unknown id)."""
    for catalog in (_overrides.get(locale), SHIPPED.get(locale), _overrides.get(DEFAULT_LOCALE)):
        if catalog and key in catalog:
            return catalog[key]
    return en.TEXT[key]


def format_value(value: object, locale: str) -> str:
    """A value as the language writes it: whole numbers with its digit grouping."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}".replace(",", _GROUP_SEPARATORS.get(locale, ","))
    return str(value)


def text(key: str, locale: str, **params: object) -> str:
    """The text `key` in `locale`, its `{name}` fields filled from `params`."""
    return template(key, locale).format(**{name: format_value(value, locale) for name, value in params.items()})


def english(key: str, **params: object) -> str:
    """The shipped English text, whatever a host overrides: what the HTTP API and the CLI say."""
    return en.TEXT[key].format(**{name: format_value(value, DEFAULT_LOCALE) for name, value in params.items()})


class Texts:
    """One language's texts for the components of a page, taken when the page is compiled.

    `overrides` replaces entries for this one use (the widget's `title=` and `greeting=`), shown as given.
    """

    def __init__(self, locale: str | None = None, overrides: Mapping[str, str | None] | None = None) -> None:
        self.locale = resolve_locale(locale)
        self._overrides = {key: value for key, value in (overrides or {}).items() if value is not None}

    def __call__(self, key: str, **params: object) -> str:
        if key in self._overrides:
            return self._overrides[key]
        return text(key, self.locale, **params)

    def var(self, key: str, **parts: Any) -> Any:
        """The text `key` as a string Var, its `{name}` fields filled with Vars (`count=State.unread`)."""
        import reflex as rx
        from reflex.vars import StringVar

        pieces: list[Any] = []
        for literal, field, _, _ in string.Formatter().parse(template(key, self.locale)):
            if literal:
                pieces.append(literal)
            if field:
                part = rx.Var.create(parts[field])
                pieces.append(part if isinstance(part, StringVar) else part.to_string())
        result = rx.Var.create("")
        for piece in pieces:
            result = result + piece
        return result
