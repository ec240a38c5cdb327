"""Reports for a store's manager: how chat went over the last 7, 30 or 90 days (/agent/reports, /api/agent).

Every figure is an SQL aggregate over indexed columns (migration 0005), the same statements on SQLite and
PostgreSQL; Python only fills in the days without a row and names the products.

- Days are UTC calendar days; a range of N days is today and the N - 1 days before it, up to now.
- A conversation counts on the day it started (its `created_at`) if it holds at least one message.
- Its first response is the time from the shopper's first message to the first staff reply at or after it;
  a conversation without a reply yet has none (it counts as not answered within 5 minutes).
- The median is the middle value (the mean of the two middle ones for an even count); the 90th percentile
  is the nearest-rank one (the smallest value with at least 90% of the values at or below it).
- Messages count on the day they were written, for the product of their conversation.
"""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat.clock import utcnow
from rxchat.models import ChatMessage, ChatSession
from rxchat.services import catalog, errors

RANGES = (7, 30, 90)
DEFAULT_RANGE = 30
WITHIN_SECONDS = 300  # "answered within 5 minutes"


class DayConversations(BaseModel):
    day: str  # YYYY-MM-DD (UTC)
    by_product: dict[str, int]  # product id -> conversations started that day


class DayFirstResponse(BaseModel):
    day: str
    answered: int  # conversations of that day with a first response
    median_seconds: float | None = None
    p90_seconds: float | None = None


class DayMessages(BaseModel):
    day: str
    shopper: int
    agent: int


class ProductRow(BaseModel):
    product_id: str
    product_name: str
    conversations: int
    messages: int
    median_first_response_seconds: float | None = None
    answered_within_5_min: float | None = None  # a share, 0..1, of the conversations with a shopper message


class Report(BaseModel):
    days: int
    start: str  # the first day, YYYY-MM-DD
    end: str  # the last day (today)
    products: list[ProductRow]  # most conversations first
    conversations: list[DayConversations]  # one per day, oldest first
    first_response: list[DayFirstResponse]
    messages: list[DayMessages]
    total_conversations: int
    total_messages: int
    median_first_response_seconds: float | None = None
    answered_within_5_min: float | None = None


def check_range(days: object) -> int:
    if isinstance(days, bool) or days not in RANGES:
        raise errors.InvalidInput(key="error.report_range")
    assert isinstance(days, int)
    return days


# --- SQL that differs between the two databases ----------------------------------------------------------------


def _day(column: Any, dialect: str) -> Any:
    """The UTC calendar day of a stored time, as YYYY-MM-DD text."""
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD")
    return sa.func.strftime("%Y-%m-%d", column)  # SQLite stores UTC times as text


def _seconds(later: Any, earlier: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return sa.func.extract("epoch", later - earlier)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


# --- the report --------------------------------------------------------------------------------------------------


def _bounds(days: int, now: datetime) -> tuple[datetime, list[str]]:
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    return start, [(first + timedelta(days=i)).isoformat() for i in range(days)]


def _waits(start: datetime, end: datetime, dialect: str) -> Any:
    """One row per conversation started in the range with a message: its product, day and first response
    (NULL while unanswered, or when the shopper never wrote)."""
    s, m = ChatSession.__table__, ChatMessage.__table__  # type: ignore[attr-defined]
    first_shopper = (
        sa.select(sa.func.min(m.c.created_at))
        .where(m.c.session_id == s.c.id, m.c.author == "shopper")
        .correlate(s)
        .scalar_subquery()
    )
    started = (
        sa.select(
            s.c.id.label("id"),
            s.c.product_id.label("product_id"),
            _day(s.c.created_at, dialect).label("day"),
            first_shopper.label("first_shopper"),
        )
        .where(s.c.created_at >= start, s.c.created_at <= end, s.c.message_count > 0)
        .subquery("started")
    )
    first_reply = (
        sa.select(sa.func.min(m.c.created_at))
        .where(m.c.session_id == started.c.id, m.c.author == "agent", m.c.created_at >= started.c.first_shopper)
        .correlate(started)
        .scalar_subquery()
    )
    answered = sa.select(
        started.c.product_id, started.c.day, started.c.first_shopper, first_reply.label("first_reply")
    ).subquery("answered")
    return sa.select(
        answered.c.product_id.label("product_id"),
        answered.c.day.label("day"),
        sa.case((answered.c.first_shopper.is_not(None), 1), else_=0).label("asked"),
        _seconds(answered.c.first_reply, answered.c.first_shopper, dialect).label("wait"),
    ).subquery("waits")


def _percentiles(waits: Any, group: Any | None) -> Any:
    """Per `group` (or over all, for None): how many conversations were answered, the median and the
    nearest-rank 90th percentile of their first response, ranked in SQL (no percentile function is on both)."""
    key = sa.literal_column("'all'") if group is None else group
    ranked = (
        sa.select(
            key.label("key"),
            waits.c.wait.label("wait"),
            sa.func.row_number().over(partition_by=group, order_by=waits.c.wait).label("rn"),
            sa.func.count().over(partition_by=group).label("n"),
        )
        .where(waits.c.wait.is_not(None))
        .subquery("ranked")
    )
    rn, n, wait = ranked.c.rn, ranked.c.n, ranked.c.wait
    # Integer division on both databases: the middle rank(s), and ceil(0.9 n) = (9 n + 9) / 10.
    middle = sa.or_(rn == (n + 1) // 2, rn == (n + 2) // 2)
    return sa.select(
        ranked.c.key,
        sa.func.max(n).label("answered"),
        sa.func.avg(sa.case((middle, wait))).label("median"),
        sa.func.max(sa.case((rn == (9 * n + 9) // 10, wait))).label("p90"),
    ).group_by(ranked.c.key)


async def build_report(db: AsyncSession, *, days: int = DEFAULT_RANGE, now: datetime | None = None) -> Report:
    days = check_range(days)
    now = now or utcnow()
    start, day_list = _bounds(days, now)
    dialect = (await db.connection()).dialect.name
    s, m = ChatSession.__table__, ChatMessage.__table__  # type: ignore[attr-defined]
    waits = _waits(start, now, dialect)

    async def rows(statement: Any) -> list[Any]:
        return list((await db.exec(statement)).all())

    per_day_product = await rows(
        sa.select(waits.c.day, waits.c.product_id, sa.func.count()).group_by(waits.c.day, waits.c.product_id)
    )
    per_product = await rows(
        sa.select(
            waits.c.product_id,
            sa.func.count(),
            sa.func.sum(waits.c.asked),
            sa.func.sum(sa.case((waits.c.wait <= WITHIN_SECONDS, 1), else_=0)),
        ).group_by(waits.c.product_id)
    )
    totals = (
        await rows(
            sa.select(
                sa.func.count(),
                sa.func.sum(waits.c.asked),
                sa.func.sum(sa.case((waits.c.wait <= WITHIN_SECONDS, 1), else_=0)),
            )
        )
    )[0]
    by_day_percentiles = {row[0]: row for row in await rows(_percentiles(waits, waits.c.day))}
    by_product_percentiles = {row[0]: row for row in await rows(_percentiles(waits, waits.c.product_id))}
    overall = await rows(_percentiles(waits, None))
    message_day = _day(m.c.created_at, dialect)
    in_range = sa.and_(m.c.created_at >= start, m.c.created_at <= now)
    messages_per_day = await rows(
        sa.select(message_day, m.c.author, sa.func.count()).where(in_range).group_by(message_day, m.c.author)
    )
    messages_per_product = await rows(
        sa.select(s.c.product_id, sa.func.count())
        .select_from(m.join(s, s.c.id == m.c.session_id))
        .where(in_range)
        .group_by(s.c.product_id)
    )

    conversations = {day: DayConversations(day=day, by_product={}) for day in day_list}
    for day, product_id, count in per_day_product:
        if day in conversations:
            conversations[day].by_product[product_id] = int(count)
    first_response = []
    for day in day_list:
        found = by_day_percentiles.get(day)
        first_response.append(
            DayFirstResponse(
                day=day,
                answered=int(found[1]) if found else 0,
                median_seconds=_number(found[2]) if found else None,
                p90_seconds=_number(found[3]) if found else None,
            )
        )
    messages = {day: DayMessages(day=day, shopper=0, agent=0) for day in day_list}
    for day, author, count in messages_per_day:
        if day in messages and author in ("shopper", "agent"):
            setattr(messages[day], author, int(count))
    message_counts = {product_id: int(count) for product_id, count in messages_per_product}
    conversation_counts = {row[0]: row for row in per_product}
    product_ids = sorted(set(conversation_counts) | set(message_counts))
    names = await catalog.find_products(db, product_ids)
    products = []
    for product_id in product_ids:
        counted = conversation_counts.get(product_id)
        ranks = by_product_percentiles.get(product_id)
        products.append(
            ProductRow(
                product_id=product_id,
                product_name=names[product_id].name if product_id in names else product_id,
                conversations=int(counted[1]) if counted else 0,
                messages=message_counts.get(product_id, 0),
                median_first_response_seconds=_number(ranks[2]) if ranks else None,
                answered_within_5_min=_share(counted[3], counted[2]) if counted else None,
            )
        )
    products.sort(key=lambda row: (-row.conversations, -row.messages, row.product_name.casefold()))
    return Report(
        days=days,
        start=day_list[0],
        end=day_list[-1],
        products=products,
        conversations=list(conversations.values()),
        first_response=first_response,
        messages=list(messages.values()),
        total_conversations=int(totals[0] or 0),
        total_messages=sum(message_counts.values()),
        median_first_response_seconds=_number(overall[0][2]) if overall else None,
        answered_within_5_min=_share(totals[2], totals[1]),
    )


def _number(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _share(part: Any, whole: Any) -> float | None:
    return None if not whole else round(int(part or 0) / int(whole), 4)


CSV_COLUMNS = (
    "product_id",
    "product",
    "conversations",
    "messages",
    "median_first_response_seconds",
    "answered_within_5_min_percent",
)


def to_csv(report: Report) -> str:
    """The report's table per product as CSV: the columns of `CSV_COLUMNS`, empty where there is no value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.products:
        writer.writerow(
            [
                row.product_id,
                _safe_cell(row.product_name),
                row.conversations,
                row.messages,
                "" if row.median_first_response_seconds is None else f"{row.median_first_response_seconds:g}",
                "" if row.answered_within_5_min is None else f"{row.answered_within_5_min * 100:g}",
            ]
        )
    return out.getvalue()


def _safe_cell(text: str) -> str:
    """A name a spreadsheet would run as a formula (=, +, -, @ first) is written with a leading apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_filename(report: Report) -> str:
    return f"rxchat-report-{report.start}-to-{report.end}.csv"


def day_label(day: str) -> str:
    """ "2026-12-04" -> "Dec 4", for a chart's axis."""
    parsed = date.fromisoformat(day)
    return f"{parsed.strftime('%b')} {parsed.day}"
