"""Email continuity as a specification: the links' tokens, the outbox rule, sending once, retrying, rate limits,
consent, erase. A real SMTP server (aiosmtpd, tests/smtp_sink.py) receives what rxchat sends.
"""

import asyncio
import hashlib
import secrets
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from factories import (
    DEMO_PRODUCT,
    OTHER_PRODUCT,
    make_messages,
    make_session,
    postgres_admin,
    recorded_events,
    second_session,
)
from rxchat import db as rxchat_db
from rxchat import migrations, redaction
from rxchat.clock import utcnow
from rxchat.models import EmailOutbox, EmailSubscription, EmailToken
from rxchat.services import catalog, chat, email, email_links, mailer, seen
from rxchat.services.events import RepliesEmailed
from rxchat.settings import settings
from server import free_port
from smtp_sink import SmtpSink, html_of, text_of

SHOPPER = "ada@example.com"


@pytest.fixture
def sink(monkeypatch):
    """A running SMTP server, rxchat set to send to it, replies due at once, links under a known base."""
    server = SmtpSink().start()
    monkeypatch.setattr(settings, "smtp_url", server.url)
    monkeypatch.setattr(settings, "email_after_seconds", 0)
    monkeypatch.setattr(settings, "public_url", "https://shop.example")
    yield server
    server.stop()


async def subscribed(db, *, product_id: str = DEMO_PRODUCT):
    chat_session = await make_session(db, product_id=product_id)
    await make_messages(db, chat_session, 1)  # the shopper's question
    await email.subscribe(db, chat_session=chat_session, email=SHOPPER)
    return chat_session


async def reply(db, chat_session, body: str) -> None:
    await chat.post_message(db, chat=chat_session, author="agent", agent_name="Grace", body=body)


async def count(db, model) -> int:
    return (await db.exec(select(func.count()).select_from(model))).one()


# --- the resume token ----------------------------------------------------------------------------------------


async def test_a_resume_token_is_stored_only_as_its_hash(db):
    chat_session = await make_session(db)

    token, _ = await email_links.issue(db, chat_id=chat_session.id, kind=email_links.RESUME)

    stored = (await db.exec(select(EmailToken))).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored.token_hash and len(token) >= 43


async def test_a_resume_token_gives_its_own_conversation_once(db):
    mine, other = await make_session(db), await make_session(db, product_id=OTHER_PRODUCT)
    token, _ = await email_links.issue(db, chat_id=mine.id, kind=email_links.RESUME)

    first = await email_links.redeem_resume(db, token=token)
    again = await email_links.redeem_resume(db, token=token)

    assert (first.session_id, first.product_id) == (mine.session_id, DEMO_PRODUCT)
    assert first.session_id != other.session_id
    assert again.session_id is None and again.product_id == DEMO_PRODUCT  # the way back to the product only


async def test_a_resume_token_expires_after_seven_days(db, monkeypatch):
    chat_session = await make_session(db)
    await make_messages(db, chat_session, 1)
    token, _ = await email_links.issue(db, chat_id=chat_session.id, kind=email_links.RESUME)
    later = utcnow() + email_links.RESUME_TTL + timedelta(seconds=1)
    monkeypatch.setattr(email_links, "utcnow", lambda: later)

    assert (await email_links.redeem_resume(db, token=token)).session_id is None


@pytest.mark.parametrize("token", ["", "short", "x" * 43 + "/", None, 42, "A" * 43])
async def test_an_unknown_or_malformed_token_reveals_nothing(db, token):
    await make_session(db)

    assert await email_links.redeem_resume(db, token=token) == email_links.Resumed(None, None)


async def test_an_unsubscribe_token_does_not_resume(db):
    chat_session = await make_session(db)
    token, _ = await email_links.issue(db, chat_id=chat_session.id, kind=email_links.UNSUBSCRIBE)

    assert (await email_links.redeem_resume(db, token=token)).session_id is None


# --- the outbox rule -----------------------------------------------------------------------------------------


async def test_an_unseen_burst_of_replies_is_one_email_with_the_replies_and_links(db, sink):
    chat_session = await subscribed(db)
    await reply(db, chat_session, "Yes, it fits a 2-person tent.")
    await reply(db, chat_session, "And it ships tomorrow.")

    with_events = recorded_events()
    async with with_events as published:
        assert await email.run_once(db, send=mailer.send) == 1
    assert await email.run_once(db, send=mailer.send) == 0

    [message] = sink.to(SHOPPER)
    body, html = text_of(message), html_of(message)
    assert "Aurora" in message["Subject"]
    assert "Yes, it fits a 2-person tent." in body and "And it ships tomorrow." in body
    assert "ships tomorrow" in html and "Grace" in body
    assert "https://shop.example/chat/resume/" in body and "https://shop.example/chat/unsubscribe/" in body
    assert message["List-Unsubscribe"].startswith("<https://shop.example/chat/unsubscribe/")
    assert chat_session.session_id not in message.as_string()
    assert [e for e in published if isinstance(e, RepliesEmailed)] == [
        RepliesEmailed(conversation=chat_session.public_id, emailed_seq=3)
    ]


async def test_the_link_in_the_email_resumes_the_conversation(db, sink):
    chat_session = await subscribed(db)
    await reply(db, chat_session, "Here you go.")
    await email.run_once(db, send=mailer.send)
    link = next(word for word in text_of(sink.to(SHOPPER)[0]).split() if "/chat/resume/" in word)

    resumed = await email_links.redeem_resume(db, token=link.rsplit("/", 1)[1])

    assert resumed.session_id == chat_session.session_id


async def test_a_reply_seen_in_time_sends_nothing(db, sink):
    chat_session = await subscribed(db)
    await reply(db, chat_session, "Answered while you watched.")
    await seen.mark_seen_by_session(db, product_id=DEMO_PRODUCT, session_id=chat_session.session_id)

    assert await email.run_once(db, send=mailer.send) == 0
    assert sink.messages == []


async def test_a_reply_is_not_emailed_before_its_time(db, sink, monkeypatch):
    monkeypatch.setattr(settings, "email_after_seconds", 60)
    chat_session = await subscribed(db)
    await reply(db, chat_session, "Too soon to email.")

    assert await email.run_once(db, send=mailer.send) == 0
    later = utcnow() + timedelta(seconds=61)
    assert await email.queue_due(db, now=later) == 1


async def test_replies_seen_after_queuing_are_not_sent(db, sink):
    chat_session = await subscribed(db)
    await reply(db, chat_session, "Seen just in time.")
    assert await email.queue_due(db) == 1
    await seen.mark_seen_by_session(db, product_id=DEMO_PRODUCT, session_id=chat_session.session_id)

    assert await email.run_once(db, send=mailer.send) == 0
    assert sink.messages == []
    assert (await db.exec(select(EmailOutbox.status))).all() == ["skipped"]


async def test_an_address_not_saved_in_the_widget_gets_nothing(db, sink):
    chat_session = await make_session(db, customer_email=SHOPPER)  # given to the HTTP API, say
    await reply(db, chat_session, "Nobody consented to this email.")

    assert await email.run_once(db, send=mailer.send) == 0
    assert sink.messages == []


async def test_two_senders_on_one_database_send_one_email(db, sink):
    chat_session = await subscribed(db)
    await reply(db, chat_session, "Only once, please.")

    async with second_session(db) as other:
        sent = await asyncio.gather(email.run_once(db, send=mailer.send), email.run_once(other, send=mailer.send))

    assert sorted(sent) == [0, 1]
    assert len(sink.to(SHOPPER)) == 1


@asynccontextmanager
async def postgres_sessions(count: int):
    """`count` sessions on a fresh PostgreSQL database (the machine's), as that many senders would have."""
    name = f"rxchat_email_{secrets.token_hex(4)}"
    postgres_admin(f'CREATE DATABASE "{name}"')
    engine = None
    try:
        migrations.upgrade(f"postgresql://postgres@127.0.0.1:5432/{name}")
        engine = rxchat_db.create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
        maker = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, autoflush=False)
        sessions = [maker() for _ in range(count)]
        try:
            await catalog.seed_demo(sessions[0])
            yield sessions
        finally:
            for session in sessions:
                await session.close()
    finally:
        if engine is not None:
            await engine.dispose()
        postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.services
async def test_four_senders_on_postgresql_send_each_email_once(sink):
    async with postgres_sessions(4) as senders:
        db = senders[0]
        addresses = [f"shopper{n}@example.com" for n in range(3)]
        for address in addresses:
            chat_session = await make_session(db)
            await email.subscribe(db, chat_session=chat_session, email=address)
            await reply(db, chat_session, f"Reply for {address}")

        sent = await asyncio.gather(*(email.run_once(s, send=mailer.send) for s in senders))

    assert sum(sent) == 3
    assert [len(sink.to(address)) for address in addresses] == [1, 1, 1]


async def test_smtp_down_then_up_delivers_the_email_once(db, monkeypatch, caplog):
    port = free_port()
    monkeypatch.setattr(settings, "smtp_url", f"smtp://127.0.0.1:{port}")  # nothing listens there yet
    monkeypatch.setattr(settings, "email_after_seconds", 0)
    chat_session = await subscribed(db)
    await reply(db, chat_session, "Sent once SMTP is back.")

    assert await email.run_once(db, send=mailer.send) == 0
    job = (await db.exec(select(EmailOutbox))).one()
    assert (job.status, job.attempts) == ("pending", 1) and job.last_error
    assert "retrying" in caplog.text
    assert await count(db, EmailToken) == 0  # the links of the failed attempt were withdrawn

    sink = SmtpSink(port).start()
    try:
        await asyncio.sleep(email.BACKOFF_FIRST_SECS + 0.1)  # the first backoff
        assert await email.run_once(db, send=mailer.send) == 1
        assert await email.run_once(db, send=mailer.send) == 0
        assert len(sink.to(SHOPPER)) == 1
    finally:
        sink.stop()


async def test_a_send_that_keeps_failing_is_kept_as_failed_and_logged(db, sink, monkeypatch, caplog):
    monkeypatch.setattr(email, "MAX_ATTEMPTS", 1)
    chat_session = await subscribed(db)
    await reply(db, chat_session, "This one cannot go.")

    async def refused(_email):
        raise ConnectionRefusedError("no route")

    await email.run_once(db, send=refused)

    job = (await db.exec(select(EmailOutbox))).one()
    assert job.status == "failed" and "ConnectionRefusedError" in job.last_error
    assert "given up" in caplog.text


async def test_at_most_the_hourly_limit_of_emails_per_conversation(db, sink, monkeypatch):
    monkeypatch.setattr(settings, "emails_per_hour", 2)
    chat_session = await subscribed(db)
    for n in range(3):
        await reply(db, chat_session, f"burst {n}")
        await email.run_once(db, send=mailer.send)

    assert len(sink.to(SHOPPER)) == 2
    later = utcnow() + timedelta(hours=1, seconds=1)
    assert await email.queue_due(db, now=later) == 1  # the third burst waited for the next hour


# --- consent, unsubscribe, erase ---------------------------------------------------------------------------------


async def test_removing_the_email_stops_pending_emails(db, sink):
    chat_session = await subscribed(db)
    await reply(db, chat_session, "Never mind.")
    await email.queue_due(db)

    await email.remove(db, chat_id=chat_session.id)

    assert await email.run_once(db, send=mailer.send) == 0
    assert (await count(db, EmailOutbox), await count(db, EmailSubscription)) == (0, 0)


async def test_removing_the_email_keeps_no_copy_of_the_address(db, sink):
    chat_session = await subscribed(db)
    await reply(db, chat_session, "Sent before the shopper removed the address.")
    await email.run_once(db, send=mailer.send)

    await email.remove(db, chat_id=chat_session.id)

    assert (await db.exec(select(EmailOutbox.email, EmailOutbox.status))).all() == [("", "sent")]
    assert await count(db, EmailSubscription) == 0


async def test_the_unsubscribe_link_stops_later_emails(db, sink):
    chat_session = await subscribed(db)
    await reply(db, chat_session, "First reply.")
    await email.run_once(db, send=mailer.send)
    link = next(word for word in text_of(sink.to(SHOPPER)[0]).split() if "/chat/unsubscribe/" in word)

    assert await email.unsubscribe(db, token=link.rsplit("/", 1)[1]) is True
    await reply(db, chat_session, "Second reply.")

    assert await email.run_once(db, send=mailer.send) == 0
    assert len(sink.to(SHOPPER)) == 1
    assert await email.unsubscribe(db, token="A" * 43) is False


async def test_erasing_a_conversation_removes_its_pending_emails_and_links(db, sink):
    chat_session = await subscribed(db)
    await reply(db, chat_session, "Erase me.")
    await email.queue_due(db)
    await email_links.issue(db, chat_id=chat_session.id, kind=email_links.RESUME)

    await chat.delete_session(db, chat=chat_session)

    assert [await count(db, m) for m in (EmailOutbox, EmailSubscription, EmailToken)] == [0, 0, 0]


def test_smtp_url_gives_host_port_and_credentials():
    assert mailer.smtp_options("smtp://bob:s%40cret@mail.example:2525") == {
        "hostname": "mail.example", "port": 2525, "use_tls": False, "username": "bob", "password": "s@cret",
    }  # fmt: skip
    assert mailer.smtp_options("smtps://mail.example")["port"] == 465
    with pytest.raises(ValueError):
        mailer.smtp_options("http://mail.example")


def test_link_tokens_are_redacted_from_logs():
    line = "GET /chat/resume/Abc_-123 and /chat/unsubscribe/Xyz-_9?x=1 HTTP/1.1"

    assert redaction.redact(line) == "GET /chat/resume/[redacted] and /chat/unsubscribe/[redacted]?x=1 HTTP/1.1"


def test_the_email_speaks_the_language_of_the_widget_where_the_address_was_saved():
    reply_email = email.ReplyEmail(
        outbox_id=1, to=SHOPPER, locale="de", product_name="Aurora", product_url="https://shop.example/p",
        replies=[email.Reply("Grace", "Ja <b>gern</b>")], resume_url="https://shop.example/chat/resume/t",
        unsubscribe_url="https://shop.example/chat/unsubscribe/u",
    )  # fmt: skip

    message = mailer.compose(reply_email)

    assert message["Subject"] == "Ihre Frage zu Aurora: wir haben geantwortet"
    assert "Unterhaltung fortsetzen" in text_of(message)
    assert "Ja &lt;b&gt;gern&lt;/b&gt;" in html_of(message)  # a reply's text is text, never markup
