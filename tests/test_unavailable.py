"""The backend exception handler `add_chat` installs: a lost Redis raises the page's notice (logged once a minute),
anything else goes to the handler the app had."""

import logging

import redis.exceptions
import reflex as rx

from rxchat.states import unavailable


class HostApp:
    def __init__(self) -> None:
        self.seen: list[Exception] = []
        self.answer = rx.toast("host")

        def host_handler(exception: Exception) -> rx.event.EventSpec:
            self.seen.append(exception)
            return self.answer

        self.backend_exception_handler = host_handler


def test_a_lost_redis_raises_the_notice_and_other_errors_reach_the_hosts_handler(caplog):
    app = HostApp()
    unavailable.install(app)
    unavailable.install(app)  # twice (a host calling add_chat again) wraps once
    handler = app.backend_exception_handler
    assert handler.__name__ == "rxchat_backend_exception_handler"

    try:
        try:
            raise redis.exceptions.ConnectionError("Connection refused")
        except redis.exceptions.ConnectionError as lost:
            raise RuntimeError("lock failed") from lost
    except RuntimeError as wrapped:
        outage = wrapped
    with caplog.at_level(logging.WARNING, logger="rxchat.states.unavailable"):
        (first,) = handler(outage)
        handler(redis.exceptions.TimeoutError("timed out"))
    # a script in the page that raises the flag the widget's and the console's `chat-error` notice reads
    assert "_client_state_set" in str(first.args[0][1]) and "(true)" in str(first.args[0][1])
    assert app.seen == []  # the host's handler (Reflex's toast by default) is not shown for it
    assert len([r for r in caplog.records if "state store" in r.getMessage()]) == 1  # logged once

    other = ValueError("a bug")
    (event,) = handler(other)
    assert app.seen == [other] and event is app.answer
