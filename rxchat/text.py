"""Turning a message body into display segments with safe, clickable links.

No HTML from a message is ever rendered: the UI shows each segment as text,
and only http(s) URLs become links.
"""

import re

URL_RE = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
TRAILING_PUNCTUATION = ".,;:!?)]}'\""


def segments(body: str) -> list[dict[str, str]]:
    """Split text into [{"text", "href"}] parts; href is "" for plain text."""
    parts: list[dict[str, str]] = []
    position = 0
    for match in URL_RE.finditer(body):
        url = match.group(0)
        stripped = url.rstrip(TRAILING_PUNCTUATION)
        start, end = match.start(), match.start() + len(stripped)
        if start > position:
            parts.append({"text": body[position:start], "href": ""})
        parts.append({"text": stripped, "href": stripped})
        position = end
    if position < len(body):
        parts.append({"text": body[position:], "href": ""})
    return parts
