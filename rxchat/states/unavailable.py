"""The page's notice that the server cannot reach its state store (Redis): a `chat-error` sentence, not silence.

Such an event fails before any handler runs, so no state of the page can change to say so. The app's backend
exception handler, wrapped by `add_chat` (`install`), answers that failure with a script that raises a flag kept
in the page; the widget and the console show their sentence while it is up, and each send lowers it first (a send
that fails again raises it again). The text stays in the box: the handler never ran. Any other error goes to the
handler the app had. The outage is logged at most once a minute, not once per event.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from rxchat import reflex_internals
from rxchat.components.layout import refusal

logger = logging.getLogger(__name__)

LOG_EVERY_SECS = 60.0

_flag, _value, _setter = reflex_internals.client_value("rxchat_store_unreachable", False)


def notice(sentence: str) -> rx.Component:
    """The sentence (`chat-error`), shown while the last send failed for want of the state store."""
    return rx.cond(_flag.value, refusal(sentence, "chat-error"))


def lower() -> rx.Var:
    """For a form's `on_submit` list, before its event: the notice goes as the send is tried again."""
    return rx.vars.FunctionStringVar.create(
        f"(() => {{ if ({_value!s}) {_setter!s}(false); }})",
        _var_data=rx.vars.VarData.merge(
            _flag._get_all_var_data(), _value._get_all_var_data(), _setter._get_all_var_data()
        ),
    )


def is_store_outage(error: BaseException) -> bool:
    """Whether Redis could not be reached (the error or any it was raised from)."""
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # no Redis client installed: no Redis to lose
        return False
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, RedisConnectionError | RedisTimeoutError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def install(app: Any) -> None:
    """Wrap the app's backend exception handler (once)."""
    original: Callable[[Exception], Any] = app.backend_exception_handler
    if getattr(original, "rxchat_store_notice", False):
        return
    last_logged = [-LOG_EVERY_SECS]

    def rxchat_backend_exception_handler(exception: Exception) -> list[EventSpec]:
        if is_store_outage(exception):
            now = time.monotonic()
            if now - last_logged[0] >= LOG_EVERY_SECS:
                last_logged[0] = now
                logger.warning("an event failed: the state store cannot be reached: %s", exception)
            return [rx.call_script(f"{_setter!s}(true)")]
        result = original(exception)
        if result is None:
            return []
        return list(result) if isinstance(result, list) else [result]

    rxchat_backend_exception_handler.rxchat_store_notice = True  # type: ignore[attr-defined]
    app.backend_exception_handler = rxchat_backend_exception_handler
