"""The shopper's record in browser storage, read defensively and written back.

`localStorage["chat_session_data"]` holds
{globalSessionId, productSessions: {"product_<id>": {...}}, userPreferences}.
Any client can put anything there, so every read repairs: invalid JSON, wrong
types, missing fields and oversized values give a clean record, never an error.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from rxchat.clock import iso, utcnow
from rxchat.services import ids
from rxchat.settings import settings

MAX_RECORD_CHARS = 64_000  # a larger value is ignored and replaced


def product_key(product_id: str) -> str:
    return f"product_{product_id}"


def empty_record(global_id: str) -> dict[str, Any]:
    return {"globalSessionId": global_id, "productSessions": {}, "userPreferences": {}}


def load_record(raw: str, global_id: str) -> dict[str, Any]:
    """Parse and repair a stored record; the global id wins if the record disagrees."""
    data: Any = None
    if isinstance(raw, str) and 0 < len(raw) <= MAX_RECORD_CHARS:
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
    record = empty_record(global_id)
    if not isinstance(data, dict):
        return record
    sessions = data.get("productSessions")
    if isinstance(sessions, dict):
        for key, entry in sessions.items():
            repaired = _repair_entry(key, entry)
            if repaired is not None:
                record["productSessions"][product_key(repaired["productId"])] = repaired
    prefs = data.get("userPreferences")
    if isinstance(prefs, dict):
        record["userPreferences"] = {
            k: v for k, v in prefs.items() if k in ("name", "email", "theme") and isinstance(v, str) and len(v) <= 254
        }
    return record


def _repair_entry(key: object, entry: object) -> dict[str, Any] | None:
    product_id = key[len("product_") :] if isinstance(key, str) and key.startswith("product_") else None
    if isinstance(entry, str):  # an older layout kept a bare session id per product
        entry = {"sessionId": entry}
    if not isinstance(entry, dict):
        return None
    if "productId" in entry and isinstance(entry["productId"], str | int) and not isinstance(entry["productId"], bool):
        product_id = str(entry["productId"])
    session_id = entry.get("sessionId")
    if not ids.is_valid_product_id(product_id) or not isinstance(session_id, str) or len(session_id) > 200:
        return None
    now = iso(utcnow())
    count = entry.get("messageCount")
    return {
        "sessionId": session_id,
        "productId": product_id,
        **{k: entry[k] for k in ("customerName", "customerEmail") if isinstance(entry.get(k), str)},
        "createdAt": _iso_or(entry.get("createdAt"), now),
        "lastActivity": _iso_or(entry.get("lastActivity"), now),
        "messageCount": count if type(count) is int and 0 <= count < 10**9 else 0,
        "isActive": entry["isActive"] if isinstance(entry.get("isActive"), bool) else True,
    }


def _iso_or(value: object, default: str) -> str:
    """An ISO 8601 UTC time as the record keeps it, or `default` for anything else."""
    if not isinstance(value, str) or len(value) > 40:
        return default
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return default
    return iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def drop_expired(record: dict[str, Any], *, now: datetime | None = None) -> bool:
    """Remove entries past the session lifetimes (by the record's own times); True if any went."""
    now = now or utcnow()
    expired = []
    for key, entry in record["productSessions"].items():
        if entry["messageCount"] == 0:
            limit, since = timedelta(hours=settings.empty_session_ttl_hours), entry["createdAt"]
        else:
            limit, since = timedelta(days=settings.session_ttl_days), entry["lastActivity"]
        if datetime.fromisoformat(since.replace("Z", "+00:00")) < now - limit:
            expired.append(key)
    for key in expired:
        del record["productSessions"][key]
    return bool(expired)


def dump_record(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)
