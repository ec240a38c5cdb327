"""The page's outbox: messages sent while the connection is down, shown at once as `sending`.

Reflex keeps events in the page while its socket is down and sends them, in order, once it is back; the
server sees nothing before then. So a message sent meanwhile is put into a list kept in the page (no round
trip) and shown as a `sending` bubble, and the box is emptied: the shopper sees it was taken and does not send
it twice. The queued event carries `queued=1` (a hidden input that reads the connection's state): when the
server handles it, it drops the message from the outbox in the same update that shows it pending or stored, or,
if it refuses it, puts the text back into the box. Each event reaches the server once, so each message is
stored once, in the order sent (a retry of a failed one carries the same idempotency key).

A reload while the connection is down loses what Reflex had queued, with its outbox.
"""

import json

import reflex as rx
from reflex_components_core.core.banner import has_connection_errors

from rxchat import reflex_internals

QUEUED_FIELD = "queued"  # the hidden input of a form whose submit may wait for the connection


class Outbox:
    """One page-side list of texts, for one form (the widget's message box, the console's reply box)."""

    def __init__(self, name: str, input_id: str, field: str) -> None:
        self.input_id, self.field = input_id, field
        self.var, self._value, self._setter = reflex_internals.client_list(name)

    @property
    def items(self) -> rx.Var:
        """The texts waiting, oldest first (render with rx.foreach)."""
        return self.var.value

    def queued_input(self) -> rx.Component:
        """The hidden input that tells the server a submit was made while the connection was down."""
        return rx.el.input(type="hidden", name=QUEUED_FIELD, value=rx.cond(has_connection_errors, "1", "0"))

    def on_submit(self) -> rx.Var:
        """Runs in the page before the submit's event is queued: while the connection is down, the text goes
        into the outbox and the box is emptied."""
        box = f"document.getElementById({json.dumps(self.input_id)})"
        return rx.vars.FunctionStringVar.create(
            f"((form_data) => {{ if (!{has_connection_errors!s}) return; "
            f"const text = String(form_data[{json.dumps(self.field)}] ?? ''); if (!text.trim()) return; "
            f"{self._setter!s}([...({self._value!s} ?? []), text]); "
            f"const box = {box}; if (box) box.value = ''; }})",
            _var_data=rx.vars.VarData.merge(
                has_connection_errors._get_all_var_data(),
                self._value._get_all_var_data(),
                self._setter._get_all_var_data(),
                self.var._get_all_var_data(),
            ),
        )

    def _drop_js(self, text: str) -> str:
        return (
            f"((list) => {{ const i = list.indexOf({json.dumps(text)}); "
            f"if (i >= 0) {self._setter!s}([...list.slice(0, i), ...list.slice(i + 1)]); }})({self._value!s} ?? [])"
        )

    def taken(self, text: str) -> rx.event.EventSpec:
        """The server has the message: it leaves the outbox (the pending or stored one shows instead)."""
        return rx.call_script(self._drop_js(text))

    def refused(self, text: str) -> rx.event.EventSpec:
        """The server refused the message: it leaves the outbox and goes back into the box, unless the shopper
        has typed something else there meanwhile."""
        box = f"document.getElementById({json.dumps(self.input_id)})"
        return rx.call_script(
            f"{self._drop_js(text)}; (() => {{ const box = {box}; "
            f"if (box && !box.value) {{ box.value = {json.dumps(text)}; }} }})()"
        )


def was_queued(form_data: dict) -> bool:
    return form_data.get(QUEUED_FIELD) == "1"
