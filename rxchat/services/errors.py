"""Domain errors the services raise; each carries a code and a human sentence.

The sentence is a catalog entry (rxchat/i18n, `key` and its `params`): `message` is the shipped English, what
the HTTP API and the CLI give; `sentence(locale)` is the same refusal in a shopper's or agent's language.
"""

from typing import Any

from rxchat import i18n


class ChatError(Exception):
    code = "chat_error"
    status = 400
    key: str | None = "error.refused"
    message = i18n.english("error.refused")

    def __init_subclass__(cls, **kwargs: object) -> None:
        """A class naming its own sentence gets its English as `message` (when it needs no values)."""
        super().__init_subclass__(**kwargs)
        if cls.key and "key" in cls.__dict__ and not i18n.placeholders(i18n.en.TEXT[cls.key]):
            cls.message = i18n.english(cls.key)

    def __init__(self, message: str | None = None, *, key: str | None = None, **params: object) -> None:
        """`ChatError()` says the class's sentence; `key=` (with the values it names) another catalog entry;
        a plain `message` is a sentence of its own, in English only (the CLI's)."""
        if message is not None and key is None:
            self.key, self.params = None, {}
        else:
            self.key, self.params = key or type(self).key, params
            message = i18n.english(self.key, **params) if self.key else type(self).message
        super().__init__(message)
        self.message = message

    def sentence(self, locale: str | None = None) -> str:
        """This refusal in `locale` (default: RXCHAT_LOCALE), a host's own wording included."""
        if not self.key:
            return self.message
        return i18n.text(self.key, i18n.resolve_locale(locale), **self.params)


class InvalidInput(ChatError):
    code = "invalid_input"
    status = 422
    key = "error.invalid_input"


class EmptyMessage(InvalidInput):
    code = "message_empty"
    key = "error.message_empty"


class MessageTooLong(InvalidInput):
    code = "message_too_long"

    def __init__(self, limit: int, length: int) -> None:
        super().__init__(key="error.message_too_long", limit=limit, length=length)


class ProductNotFound(ChatError):
    code = "product_not_found"
    status = 404
    key = "error.product_not_found"


class SessionNotFound(ChatError):
    code = "session_not_found"
    status = 404
    key = "error.session_not_found"


class NotSignedIn(ChatError):
    code = "not_signed_in"
    status = 401
    key = "error.not_signed_in"


class RateLimited(ChatError):
    code = "rate_limited"
    status = 429

    def __init__(self, retry_after: int, *, key: str | None = None, **params: object) -> None:
        """`key` names the refusal (default: sending too fast); it may use {seconds} and {minutes}."""
        values: dict[str, Any] = {"seconds": retry_after, "minutes": -(-retry_after // 60), **params}
        super().__init__(key=key or "error.rate_limited", **values)
        self.retry_after = retry_after
