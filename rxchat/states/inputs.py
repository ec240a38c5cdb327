"""Emptying a message box once its text is stored.

The box keeps the text until the server has it (a send that waits for a lost
connection must not look sent), and the clearing arrives a moment after the
stored message. Anything typed in that moment, or a new text already put in
the box, would be wiped, so the box is emptied only if it still holds exactly
the text that was sent.
"""

import json

import reflex as rx


def clear_if_unchanged(input_id: str, sent_text: str) -> rx.event.EventSpec:
    element = f"document.getElementById({json.dumps(input_id)})"
    return rx.call_script(
        f"(() => {{ const box = {element}; if (box && box.value === {json.dumps(sent_text)}) box.value = ''; }})()"
    )
