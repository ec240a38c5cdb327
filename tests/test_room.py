"""A conversation's room keeps every message once and in order, whatever order they arrive in
(a live event can race a catch-up, a late write can land after a newer one)."""

import pytest

import rxchat.rxchat  # noqa: F401  (the app: registers the states)
from rxchat.states.room import RECENT_MAX, TRIM_AT, WINDOW_SIZE, ConversationRoomState


@pytest.fixture
def room() -> ConversationRoomState:
    root = ConversationRoomState.get_root_state()(_reflex_internal_init=True)
    return root.get_substate(ConversationRoomState.get_full_name().split(".")[1:])


def message(seq: int, author: str = "shopper") -> dict:
    return {
        "id": seq,
        "seq": seq,
        "author": author,
        "agent_name": "Ana" if author == "agent" else None,
        "body": f"message {seq}",
        "client_key": None,
        "created_at": "2026-11-25T10:00:00Z",
    }


def thread(room: ConversationRoomState) -> list[int]:
    return [m.seq for m in (*room.messages, *room.recent)]


def test_messages_in_order_are_kept_once_each(room):
    for seq in range(1, 4):
        room._add_message(message(seq))
    room._add_message(message(3))  # the same one again (a catch-up raced the live event)
    room._add_message(message(2))

    assert thread(room) == [1, 2, 3]


def test_a_late_message_takes_its_place(room):
    for seq in (1, 2, 4):
        room._add_message(message(seq))
    room._add_message(message(3))

    assert thread(room) == [1, 2, 3, 4]


def test_a_late_message_among_the_settled_ones_takes_its_place(room):
    for seq in [n for n in range(1, 2 * RECENT_MAX + 3) if n != 5]:
        room._add_message(message(seq))
    room._add_message(message(5))
    room._add_message(message(5))

    assert thread(room) == list(range(1, 2 * RECENT_MAX + 3))


def test_new_messages_gather_in_recent_and_fold_into_the_thread(room):
    for seq in range(1, RECENT_MAX + 1):
        room._add_message(message(seq))
    assert [m.seq for m in room.recent] == list(range(1, RECENT_MAX + 1))

    room._add_message(message(RECENT_MAX + 1))

    assert room.recent == [] and thread(room) == list(range(1, RECENT_MAX + 2))


def test_a_long_conversation_is_trimmed_back_to_the_window(room):
    for seq in range(1, TRIM_AT + 2 * RECENT_MAX):
        room._add_message(message(seq))

    seqs = thread(room)
    assert seqs == list(range(seqs[0], TRIM_AT + 2 * RECENT_MAX))  # the newest, none missing
    assert WINDOW_SIZE <= len(seqs) <= TRIM_AT + RECENT_MAX
    assert room.window_start == seqs[0] and room.last_shopper_seq == seqs[-1]


def test_an_agent_reply_ends_the_agent_typing_and_counts_as_read(room):
    room._add_message(message(1))
    room._set_typing("agent", until=1e12, agent_name="Ana")

    room._add_message(message(2, author="agent"))

    assert not room.agent_typing and room.agent_read_seq == 2


def test_each_side_newest_message_is_followed_apart(room):
    """The markers that mark read or seen follow only the other side's newest message."""
    room._add_message(message(1))
    room._add_message(message(2, author="agent"))
    room._add_message(message(3))
    assert (room.last_shopper_seq, room.last_agent_seq) == (3, 2)

    room._add_message(message(2, author="agent"))  # again: nothing changes
    assert (room.last_shopper_seq, room.last_agent_seq) == (3, 2)

    room._clear()
    assert (room.last_shopper_seq, room.last_agent_seq) == (0, 0)


def test_a_loaded_window_knows_each_side_newest_message(room):
    from rxchat.models import MessagePublic

    newest_first = [
        MessagePublic(**message(seq, author)) for seq, author in ((4, "agent"), (3, "agent"), (2, "shopper"))
    ]
    room._replace_window(newest_first, agent_read_seq=2)

    assert (room.last_shopper_seq, room.last_agent_seq) == (2, 4)
