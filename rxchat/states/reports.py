"""The /agent/reports page: one report (services/reports.py) shaped for its charts, table and CSV export.

Every handler first checks the signed-in agent from backend-only state, as the console does. The CSV a
click downloads is the one made with the table on screen (kept backend-only), so the two always agree.
"""

import dataclasses

import reflex as rx

from rxchat import db, i18n
from rxchat.services import reports
from rxchat.services.errors import ChatError
from rxchat.states.auth import LOGIN_ROUTE, AgentAuthState

REPORTS_ROUTE = "/agent/reports"
MAX_SERIES = 7  # products with a series of their own in the stacked chart; the rest are summed as "other"
OTHER_KEY = "other"
# Radix colour steps: each has a light and a dark value, so the chart reads in both themes.
SERIES_COLORS = (
    "var(--blue-9)",
    "var(--orange-9)",
    "var(--grass-9)",
    "var(--crimson-9)",
    "var(--violet-9)",
    "var(--amber-9)",
    "var(--cyan-9)",
    "var(--gray-8)",
)


@dataclasses.dataclass
class Series:
    key: str = ""  # the data key in each day's row
    name: str = ""  # the product's name, for the legend and tooltip
    color: str = ""


@dataclasses.dataclass
class ProductLine:
    product_id: str = ""
    name: str = ""
    conversations: int = 0
    messages: int = 0
    median: str = ""  # the median first response, for people ("1 min 30 s"); "" with none
    within: str = ""  # the share answered within 5 minutes ("67%"); "" with none


def duration(seconds: float | None, locale: str) -> str:
    """A first-response time for people: "45 s", "3 min 20 s", "12 min", "1 h 5 min"; "–" with none."""
    if seconds is None:
        return "–"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 10:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    if minutes < 60:
        return f"{round(whole / 60)} min"
    hours, minutes = divmod(round(whole / 60), 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def percent(share: float | None, locale: str) -> str:
    if share is None:
        return "–"
    number = round(share * 100)
    return f"{number} %" if locale == "de" else f"{number}%"


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


class ReportsState(AgentAuthState):
    days: str = str(reports.DEFAULT_RANGE)  # "7", "30" or "90": the range control's value
    loaded: bool = False
    error: str = ""
    series: list[Series] = []
    conversations_chart: list[dict[str, str | int]] = []
    first_response_chart: list[dict[str, str | float | None]] = []
    messages_chart: list[dict[str, str | int]] = []
    products: list[ProductLine] = []
    total_conversations: int = 0
    total_messages: int = 0
    median_first_response: str = ""
    answered_within: str = ""
    period: str = ""  # "2026-11-05 – 2026-12-04"
    _csv: str = ""
    _csv_name: str = ""

    @rx.event
    async def load_report(self):
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        await self._read()

    @rx.event
    async def set_range(self, value: str | list[str]):
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        if not isinstance(value, str) or value not in tuple(str(days) for days in reports.RANGES):
            return
        self.days = value
        await self._read()

    @rx.event
    async def export_csv(self):
        if await self._require_agent() is None:
            return rx.redirect(LOGIN_ROUTE)
        if not self._csv:
            await self._read()
        return rx.download(data=self._csv, filename=self._csv_name, mime_type="text/csv")

    async def _read(self) -> None:
        locale = i18n.resolve_locale()
        try:
            async with db.session() as s:
                report = await reports.build_report(s, days=int(self.days))
        except ChatError as refused:
            self.error = refused.sentence(locale)
            return
        self.error = ""
        self._show(report, locale)

    def _show(self, report: reports.Report, locale: str) -> None:
        own = report.products[:MAX_SERIES]
        keys = {row.product_id: f"p{n}" for n, row in enumerate(own)}
        series = [
            Series(key=keys[row.product_id], name=row.product_name, color=SERIES_COLORS[n]) for n, row in enumerate(own)
        ]
        if len(report.products) > MAX_SERIES:
            series.append(Series(key=OTHER_KEY, name=i18n.text("reports.other", locale), color=SERIES_COLORS[-1]))
        chart: list[dict[str, str | int]] = []
        for day in report.conversations:
            row: dict[str, str | int] = {"day": reports.day_label(day.day), **{s.key: 0 for s in series}}
            for product_id, count in day.by_product.items():
                key = keys.get(product_id, OTHER_KEY)
                row[key] = int(row.get(key, 0)) + count
            chart.append(row)
        self.series, self.conversations_chart = series, chart
        self.first_response_chart = [
            {
                "day": reports.day_label(day.day),
                "median": _minutes(day.median_seconds),
                "p90": _minutes(day.p90_seconds),
            }
            for day in report.first_response
        ]
        self.messages_chart = [
            {"day": reports.day_label(day.day), "shopper": day.shopper, "agent": day.agent} for day in report.messages
        ]
        self.products = [
            ProductLine(
                product_id=row.product_id,
                name=row.product_name,
                conversations=row.conversations,
                messages=row.messages,
                median=duration(row.median_first_response_seconds, locale),
                within=percent(row.answered_within_5_min, locale),
            )
            for row in report.products
        ]
        self.total_conversations, self.total_messages = report.total_conversations, report.total_messages
        self.median_first_response = duration(report.median_first_response_seconds, locale)
        self.answered_within = percent(report.answered_within_5_min, locale)
        self.period = f"{report.start} – {report.end}"
        self._csv, self._csv_name = reports.to_csv(report), reports.csv_filename(report)
        self.loaded = True
