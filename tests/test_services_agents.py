"""Staff accounts: creation rules, sign-in, throttling, sign-out, deactivation, API tokens."""

import pytest
from limits import RateLimitItemPerHour, RateLimitItemPerMinute

from factories import DEMO_PRODUCT, OTHER_PRODUCT, make_session, recorded_events
from rxchat.services import agents, chat, errors, limits, seen, staff
from rxchat.services.events import ReadMarked

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
async def fresh_limits():
    """No sign-in attempt counted before the test, none left behind (the windows of this process)."""
    await limits.reset()
    yield
    await limits.reset()


async def test_create_agent_stores_lowercase_email_and_refuses_duplicates_any_case(db):
    agent = await agents.create_agent(db, email="Ann@Example.COM", name="Ann", password=PASSWORD)
    assert agent.email == "ann@example.com"
    with pytest.raises(agents.AgentExists):
        await agents.create_agent(db, email="ANN@example.com", name="Ann 2", password=PASSWORD)


@pytest.mark.parametrize(
    ("email", "name", "password"),
    [("not-an-email", "Ann", PASSWORD), ("ann@example.com", "", PASSWORD), ("ann@example.com", "Ann", "short")],
)
async def test_create_agent_refuses_malformed_input(db, email, name, password):
    with pytest.raises(errors.InvalidInput):
        await agents.create_agent(db, email=email, name=name, password=password)


async def test_sign_in_gives_a_token_that_identifies_the_agent(db):
    await agents.create_agent(db, email="ann@example.com", name="Ann", password=PASSWORD)
    agent, token = await agents.sign_in(db, email="ANN@example.com", password=PASSWORD, client_address="10.0.0.1")
    assert agent.display_name == "Ann"
    assert (await agents.agent_for_token(db, token=token)).email == "ann@example.com"
    assert await agents.agent_for_token(db, token=token, kind="api") is None  # a console sign-in is no API token


async def test_sign_in_with_wrong_password_or_unknown_email_gives_the_same_refusal(db):
    await agents.create_agent(db, email="ann@example.com", name="Ann", password=PASSWORD)
    with pytest.raises(agents.InvalidCredentials) as wrong_password:
        await agents.sign_in(db, email="ann@example.com", password="wrong password!", client_address="a")
    with pytest.raises(agents.InvalidCredentials) as unknown_email:
        await agents.sign_in(db, email="bob@example.com", password=PASSWORD, client_address="b")
    assert wrong_password.value.message == unknown_email.value.message


async def test_repeated_failures_for_an_email_are_slowed_down_even_with_the_right_password(db):
    await agents.create_agent(db, email="ann@example.com", name="Ann", password=PASSWORD)
    for attempt in range(limits.FAILED_SIGN_INS_ALLOWED):
        with pytest.raises(agents.InvalidCredentials):
            await agents.sign_in(db, email="ann@example.com", password="nope nope nope", client_address=f"ip{attempt}")
    with pytest.raises(errors.RateLimited) as limited:
        await agents.sign_in(db, email="ann@example.com", password=PASSWORD, client_address="fresh-address")
    assert limited.value.retry_after > 0


async def test_repeated_failures_from_an_address_are_slowed_down_across_emails(db):
    for n in range(limits.FAILED_SIGN_INS_ALLOWED):
        with pytest.raises(agents.InvalidCredentials):
            await agents.sign_in(db, email=f"guess{n}@example.com", password="nope nope nope", client_address="1.2.3.4")
    with pytest.raises(errors.RateLimited):
        await agents.sign_in(db, email="other@example.com", password="nope nope nope", client_address="1.2.3.4")


async def test_sign_out_ends_the_sign_in(db):
    await agents.create_agent(db, email="ann@example.com", name="Ann", password=PASSWORD)
    _agent, token = await agents.sign_in(db, email="ann@example.com", password=PASSWORD)
    await agents.sign_out(db, token=token)
    assert await agents.agent_for_token(db, token=token) is None


async def test_deactivating_an_agent_ends_sign_ins_and_api_tokens_at_once(db):
    await agents.create_agent(db, email="ann@example.com", name="Ann", password=PASSWORD)
    _agent, token = await agents.sign_in(db, email="ann@example.com", password=PASSWORD)
    api_token = await agents.create_api_token(db, email="ann@example.com")
    await agents.deactivate_agent(db, email="ann@example.com")
    assert await agents.agent_for_token(db, token=token) is None
    assert await agents.agent_for_token(db, token=api_token, kind="api") is None
    with pytest.raises(agents.InvalidCredentials):
        await agents.sign_in(db, email="ann@example.com", password=PASSWORD)


async def test_reset_password_ends_console_sign_ins_and_takes_the_new_password(db):
    await agents.create_agent(db, email="ann@example.com", name="Ann", password=PASSWORD)
    _agent, token = await agents.sign_in(db, email="ann@example.com", password=PASSWORD)
    await agents.reset_password(db, email="ann@example.com", password="a brand new password")
    assert await agents.agent_for_token(db, token=token) is None
    await agents.sign_in(db, email="ann@example.com", password="a brand new password")


async def test_inbox_lists_conversations_by_public_handle_with_unread_counts(db):
    chat_session = await make_session(db)

    await chat.post_message(db, chat=chat_session, author="shopper", body="one")
    await chat.post_message(db, chat=chat_session, author="shopper", body="two")
    [row] = await staff.list_conversations(db, product_id=DEMO_PRODUCT)
    assert row.conversation == chat_session.public_id and row.unread == 2 and row.last_message == "two"
    assert chat_session.session_id not in row.model_dump_json()
    async with recorded_events() as events:
        await staff.mark_read(db, chat_session=chat_session, seq=2)
    assert [type(e) for e in events] == [ReadMarked]
    [row] = await staff.list_conversations(db, product_id=DEMO_PRODUCT)
    assert row.unread == 0
    await staff.set_status(db, chat_session=chat_session, status="closed")
    assert await staff.list_conversations(db, status="open") == []
    await chat.post_message(db, chat=chat_session, author="shopper", body="back again")
    [row] = await staff.list_conversations(db, status="open")
    assert row.unread == 1


async def test_unread_count_spans_every_conversation_and_counts_only_shopper_messages_after_the_mark(db):
    lamp, backpack = await make_session(db), await make_session(db, product_id=OTHER_PRODUCT)
    assert await staff.count_unread(db) == 0
    for body in ("one", "two", "three"):
        await chat.post_message(db, chat=lamp, author="shopper", body=body)
    await chat.post_message(db, chat=backpack, author="agent", body="hello", agent_name="Ann")
    await chat.post_message(db, chat=backpack, author="shopper", body="hi")
    assert await staff.count_unread(db) == 4, "staff replies are never unread for staff"

    await staff.mark_read(db, chat_session=lamp, seq=2)
    assert await staff.count_unread(db) == 2
    await staff.set_status(db, chat_session=backpack, status="closed")
    assert await staff.count_unread(db) == 2, "closing does not read a message"
    await chat.delete_session(db, chat=backpack)
    assert await staff.count_unread(db) == 1, "an erased conversation has nothing left to read"


async def _signed_in_agent(db):
    await agents.create_agent(db, email="ann@example.com", name="Ann", password=PASSWORD)
    return await agents.sign_in(db, email="ann@example.com", password=PASSWORD)


async def test_a_console_reply_is_stored_signed_while_its_sign_in_holds(db):
    agent, token = await _signed_in_agent(db)
    chat_session = await make_session(db)

    message = await staff.reply(db, conversation=chat_session.public_id, agent=agent, sign_in_token=token, body="hi")

    assert message.author == "agent" and message.agent_name == "Ann"
    assert [m.body for m in (await chat.list_messages(db, chat=chat_session))[0]] == ["hi"]


@pytest.mark.parametrize("ended_by", ["sign_out", "deactivate", "reset_password", "another_agent", "wrong_token"])
async def test_a_console_reply_after_its_sign_in_ended_is_refused_and_stores_nothing(db, ended_by):
    agent, token = await _signed_in_agent(db)
    chat_session = await make_session(db)
    conversation = chat_session.public_id
    if ended_by == "sign_out":
        await agents.sign_out(db, token=token)
    elif ended_by == "deactivate":
        await agents.deactivate_agent(db, email="ann@example.com")
    elif ended_by == "reset_password":
        await agents.reset_password(db, email="ann@example.com", password="a brand new password")
    elif ended_by == "another_agent":  # someone else's valid sign-in does not sign this agent's reply
        await agents.create_agent(db, email="bob@example.com", name="Bob", password=PASSWORD)
        _bob, token = await agents.sign_in(db, email="bob@example.com", password=PASSWORD)
    else:
        token = "x" * 43

    with pytest.raises(errors.NotSignedIn):
        await staff.reply(db, conversation=conversation, agent=agent, sign_in_token=token, body="hi")

    await db.refresh(chat_session)  # the refusal's rollback expired it
    assert chat_session.message_count == 0
    assert (await chat.list_messages(db, chat=chat_session))[0] == []


async def test_a_console_reply_to_an_erased_conversation_is_session_not_found(db):
    agent, token = await _signed_in_agent(db)
    chat_session = await make_session(db)
    await chat.delete_session(db, chat=chat_session)

    with pytest.raises(errors.SessionNotFound):
        await staff.reply(db, conversation=chat_session.public_id, agent=agent, sign_in_token=token, body="hi")


async def test_in_process_windows_keep_each_limit_for_its_own_window(monkeypatch):
    """A sweep for the minute-long message windows keeps an hour-long window's hits."""
    windows = limits.LocalMovingWindows()
    now = [1000.0]
    monkeypatch.setattr(limits.time, "monotonic", lambda: now[0])
    hourly, per_minute = RateLimitItemPerHour(2), RateLimitItemPerMinute(1)

    assert await windows.hit(hourly, "session", "10.0.0.1")
    assert await windows.hit(hourly, "session", "10.0.0.1")
    now[0] += 120  # past the minute window and past a sweep
    assert await windows.hit(per_minute, "message", "a")

    assert not await windows.hit(hourly, "session", "10.0.0.1")  # still two in the last hour
    assert not await windows.hit(per_minute, "message", "a")
    now[0] += 61
    assert await windows.hit(per_minute, "message", "a")  # the minute window moved on
    now[0] += 3600
    assert await windows.hit(hourly, "session", "10.0.0.1")


async def test_a_read_mark_moves_to_the_newest_message_while_the_sign_in_holds(db):
    agent, token = await _signed_in_agent(db)
    chat_session = await make_session(db)
    for body in ("one", "two"):
        await chat.post_message(db, chat=chat_session, author="shopper", body=body)
    handle = chat_session.public_id

    async with recorded_events() as events:
        assert await staff.mark_read_signed_in(db, conversation=handle, sign_in_token=token, agent_id=agent.id)
        # Read already: nothing changes and nothing is announced.
        assert not await staff.mark_read_signed_in(db, conversation=handle, sign_in_token=token, agent_id=agent.id)
    assert events == [ReadMarked(conversation=events[0].conversation, agent_read_seq=2)]
    [row] = await staff.list_conversations(db, product_id=DEMO_PRODUCT)
    assert row.unread == 0

    await chat.post_message(db, chat=chat_session, author="shopper", body="three")
    await agents.sign_out(db, token=token)
    assert not await staff.mark_read_signed_in(db, conversation=handle, sign_in_token=token, agent_id=agent.id)
    [row] = await staff.list_conversations(db, product_id=DEMO_PRODUCT)
    assert row.unread == 1, "a signed-out tab marks nothing read"


async def test_a_seen_mark_moves_only_for_the_shopper_own_session_on_its_product(db):
    chat_session = await make_session(db)
    await chat.post_message(db, chat=chat_session, author="agent", body="hello", agent_name="Ann")
    secret = chat_session.session_id

    assert not await seen.mark_seen_by_session(db, product_id=OTHER_PRODUCT, session_id=secret)
    assert not await seen.mark_seen_by_session(db, product_id=DEMO_PRODUCT, session_id="cs_" + "0" * 48)
    assert await seen.unread_replies(db, chat_session=chat_session) == 1

    assert await seen.mark_seen_by_session(db, product_id=DEMO_PRODUCT, session_id=secret)
    await db.refresh(chat_session)
    assert await seen.unread_replies(db, chat_session=chat_session) == 0
    assert not await seen.mark_seen_by_session(db, product_id=DEMO_PRODUCT, session_id=secret)


async def test_an_account_made_under_the_older_email_rule_still_signs_in_and_is_managed(db):
    """Lookups only trim and lower-case: an address the current rule refuses (a reserved .test domain)
    but an older one stored still finds its account."""
    from rxchat.models import Agent

    db.add(Agent(email="ann@shop.test", display_name="Ann", password_hash=agents._hasher.hash(PASSWORD)))
    await db.commit()
    with pytest.raises(errors.InvalidInput):
        await agents.create_agent(db, email="bob@shop.test", name="Bob", password=PASSWORD)

    agent, _token = await agents.sign_in(db, email=" Ann@Shop.test ", password=PASSWORD)
    assert agent.email == "ann@shop.test"
    await agents.reset_password(db, email="ann@shop.test", password="another long password")
    await agents.deactivate_agent(db, email="ann@shop.test")
    with pytest.raises(agents.InvalidCredentials):
        await agents.sign_in(db, email="ann@shop.test", password="another long password")
