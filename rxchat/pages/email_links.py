"""The pages reply emails link to (added by `add_chat`): /chat/resume/[token] and /chat/unsubscribe/[token]."""

import reflex as rx

from rxchat.i18n import Texts
from rxchat.states.email_links import RESUME_ROUTE, UNSUBSCRIBE_ROUTE, ResumeState, UnsubscribeState


def resume_view(t: Texts) -> rx.Component:
    return rx.center(
        rx.card(
            rx.cond(
                ResumeState.failed,
                rx.vstack(
                    rx.text(t("resume.error"), data_testid="chat-resume-error", role="alert"),
                    rx.link(t("resume.to_product"), href=ResumeState.product_href, data_testid="chat-resume-product"),
                    spacing="3",
                ),
                rx.text(t("resume.opening")),
            ),
            max_width="32em",
        ),
        padding="4em 1em",
    )


def unsubscribe_view(t: Texts) -> rx.Component:
    return rx.center(
        rx.card(
            rx.match(
                UnsubscribeState.outcome,
                ("done", rx.text(t("unsubscribe.done"), data_testid="chat-unsubscribe-done", role="status")),
                ("invalid", rx.text(t("unsubscribe.error"), data_testid="chat-unsubscribe-error", role="alert")),
                rx.vstack(
                    rx.text(t("unsubscribe.question")),
                    rx.button(
                        t("unsubscribe.confirm"),
                        on_click=UnsubscribeState.unsubscribe,
                        disabled=~rx.State.is_hydrated,
                        data_testid="chat-unsubscribe-confirm",
                    ),
                    spacing="3",
                ),
            ),
            max_width="32em",
        ),
        padding="4em 1em",
    )


def add_pages(app: rx.App) -> None:
    """Both pages, in the language RXCHAT_LOCALE names (English unless set)."""
    t = Texts()

    def resume_page() -> rx.Component:
        return resume_view(t)

    def unsubscribe_page() -> rx.Component:
        return unsubscribe_view(t)

    app.add_page(resume_page, route=RESUME_ROUTE, title=t("resume.title"), on_load=ResumeState.redeem)
    app.add_page(
        unsubscribe_page, route=UNSUBSCRIBE_ROUTE, title=t("unsubscribe.title"), on_load=UnsubscribeState.reset_page
    )
