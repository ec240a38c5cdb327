"""The /agent/reports page: the period, four figures at a glance, three charts (Reflex's `rx.recharts`) and
the table per product with its CSV export. Colours are Radix's CSS variables, so both themes read well."""

import reflex as rx

from rxchat.components.layout import refusal
from rxchat.components.staff_frame import staff_page
from rxchat.i18n import Texts
from rxchat.states.reports import REPORTS_ROUTE, ProductLine, ReportsState, Series

AXIS = {"stroke": "var(--gray-9)", "tick": {"fill": "var(--gray-11)", "fontSize": 12}}
TOOLTIP = {
    "content_style": {
        "background": "var(--color-panel-solid)",
        "border": "1px solid var(--gray-6)",
        "borderRadius": "8px",
        "color": "var(--gray-12)",
    },
    "item_style": {"color": "var(--gray-12)"},
    "label_style": {"color": "var(--gray-12)", "fontWeight": 600},
    "cursor": {"fill": "var(--gray-a3)"},
}
CHART_HEIGHT = 260


def _grid() -> rx.Component:
    return rx.recharts.cartesian_grid(stroke="var(--gray-5)", stroke_dasharray="3 3", vertical=False)


def _legend() -> rx.Component:
    return rx.recharts.legend(wrapper_style={"color": "var(--gray-11)", "fontSize": "13px"})


def _chart_card(title: str, test_id: str, chart: rx.Component) -> rx.Component:
    return rx.card(
        rx.heading(title, size="3", margin_bottom="8px"),
        chart,
        data_testid=test_id,
        class_name="report-card",
    )


def _conversations_chart(t: Texts) -> rx.Component:
    def bar(series: Series) -> rx.Component:
        return rx.recharts.bar(
            data_key=series.key,
            name=series.name,
            stack_id="conversations",
            fill=series.color,
            is_animation_active=False,
        )

    return _chart_card(
        t("reports.conversations"),
        "report-chart-conversations",
        rx.recharts.bar_chart(
            _grid(),
            rx.recharts.x_axis(data_key="day", **AXIS),
            rx.recharts.y_axis(allow_decimals=False, width=36, **AXIS),
            rx.recharts.graphing_tooltip(**TOOLTIP),
            _legend(),
            rx.foreach(ReportsState.series, bar),
            data=ReportsState.conversations_chart,
            height=CHART_HEIGHT,
            width="100%",
        ),
    )


def _line(key: str, name: str, color: str) -> rx.Component:
    # Days without an answered conversation have no value: the line bridges them.
    return rx.recharts.line(
        data_key=key,
        name=name,
        stroke=color,
        stroke_width=2,
        dot=False,
        connect_nulls=True,
        is_animation_active=False,
    )


def _first_response_chart(t: Texts) -> rx.Component:
    return _chart_card(
        t("reports.first_response"),
        "report-chart-first-response",
        rx.recharts.line_chart(
            _grid(),
            rx.recharts.x_axis(data_key="day", **AXIS),
            rx.recharts.y_axis(width=36, **AXIS),
            rx.recharts.graphing_tooltip(**{**TOOLTIP, "cursor": {"stroke": "var(--gray-8)"}}),
            _legend(),
            _line("median", t("reports.median"), "var(--blue-9)"),
            _line("p90", t("reports.p90"), "var(--orange-9)"),
            data=ReportsState.first_response_chart,
            height=CHART_HEIGHT,
            width="100%",
        ),
    )


def _messages_chart(t: Texts) -> rx.Component:
    return _chart_card(
        t("reports.messages"),
        "report-chart-messages",
        rx.recharts.bar_chart(
            _grid(),
            rx.recharts.x_axis(data_key="day", **AXIS),
            rx.recharts.y_axis(allow_decimals=False, width=36, **AXIS),
            rx.recharts.graphing_tooltip(**TOOLTIP),
            _legend(),
            rx.recharts.bar(
                data_key="shopper",
                name=t("reports.shopper_messages"),
                stack_id="messages",
                fill="var(--teal-9)",
                is_animation_active=False,
            ),
            rx.recharts.bar(
                data_key="agent",
                name=t("reports.agent_messages"),
                stack_id="messages",
                fill="var(--iris-9)",
                is_animation_active=False,
            ),
            data=ReportsState.messages_chart,
            height=CHART_HEIGHT,
            width="100%",
        ),
    )


def _figure(label: str, value: rx.Var, test_id: str) -> rx.Component:
    return rx.card(
        rx.text(label, size="2", color=rx.color("gray", 11)),
        rx.heading(value, size="7", data_testid=test_id),
        class_name="report-figure",
    )


def _product_row(row: ProductLine) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(row.name),
        rx.table.cell(row.conversations, text_align="right"),
        rx.table.cell(row.messages, text_align="right"),
        rx.table.cell(row.median, text_align="right"),
        rx.table.cell(row.within, text_align="right"),
        data_testid="report-product-row",
        data_product_id=row.product_id,
    )


def _products_table(t: Texts) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.heading(t("reports.products"), size="3"),
            rx.spacer(),
            rx.button(
                rx.icon("download", size=16),
                t("reports.export"),
                variant="soft",
                on_click=ReportsState.export_csv,
                data_testid="report-export-csv",
                disabled=~ReportsState.loaded,
            ),
            align="center",
            width="100%",
            margin_bottom="8px",
        ),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell(t("reports.col_product")),
                    rx.table.column_header_cell(t("reports.col_conversations"), text_align="right"),
                    rx.table.column_header_cell(t("reports.col_messages"), text_align="right"),
                    rx.table.column_header_cell(t("reports.col_median"), text_align="right"),
                    rx.table.column_header_cell(t("reports.col_within"), text_align="right"),
                ),
            ),
            rx.table.body(rx.foreach(ReportsState.products, _product_row)),
            variant="surface",
            width="100%",
            data_testid="report-table-products",
        ),
        rx.cond(
            ReportsState.loaded & (ReportsState.products.length() == 0),
            rx.text(t("reports.no_data"), size="2", color=rx.color("gray", 11), padding_top="8px"),
        ),
        class_name="report-card report-wide",
    )


def reports_page(t: Texts) -> rx.Component:
    return staff_page(
        t,
        REPORTS_ROUTE,
        t("reports.heading"),
        rx.hstack(
            rx.segmented_control.root(
                *(rx.segmented_control.item(t("reports.days", count=days), value=str(days)) for days in (7, 30, 90)),
                value=ReportsState.days,
                on_change=ReportsState.set_range,
                aria_label=t("reports.range"),
                data_testid="report-range",
            ),
            rx.text(ReportsState.period, size="2", color=rx.color("gray", 11), data_testid="report-period"),
            align="center",
            spacing="4",
            wrap="wrap",
        ),
        refusal(ReportsState.error, "chat-error"),
        rx.box(
            _figure(t("reports.col_conversations"), ReportsState.total_conversations, "report-total-conversations"),
            _figure(t("reports.col_median"), ReportsState.median_first_response, "report-median-first-response"),
            _figure(t("reports.col_within"), ReportsState.answered_within, "report-answered-within"),
            _figure(t("reports.col_messages"), ReportsState.total_messages, "report-total-messages"),
            class_name="report-figures",
        ),
        rx.box(
            _conversations_chart(t),
            _first_response_chart(t),
            _products_table(t),
            _messages_chart(t),
            class_name="report-grid",
        ),
        rx.text(t("reports.times_utc"), size="1", color=rx.color("gray", 11)),
    )
