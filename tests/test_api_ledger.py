"""Nothing lost, nothing doubled: a seeded random mix of API calls against a ledger of what was accepted.

Shoppers create sessions, post with and without Idempotency-Keys (and retry them, and reuse a key for other
text), staff reply through /api/agent, threads are paged through and erased. Every 201 is a new message the
ledger records; every 200 must be one it already holds. At the end every accepted message of a live session
is stored exactly once, in order, as both sides' list endpoints page through it, and erased sessions and
their messages are gone.

One SQLite file for the module, migrated with Alembic and seeded with the demo catalog; requests go through
httpx's ASGI transport into the app that rx.App(api_transformer=...) mounts.
"""

import asyncio
import random
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
import sqlalchemy as sa

from api_support import (
    DEMO_PRODUCT,
    OTHER_PRODUCT,
    assert_error,
    bearer,
    conversation_of,
    conversation_url,
    conversations_url,
    messages_url,
    new_agent,
    replies_url,
    session_url,
    sessions_url,
)
from rxchat import db
from rxchat.models import ChatMessage
from rxchat.settings import settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

SEED = 20240611  # change it to explore another mix; a failure names the seed
OPERATIONS = 400  # API calls in the random mix (about 5 s)
PRODUCTS = (DEMO_PRODUCT, OTHER_PRODUCT)
FLAVOURS = ["", "é", "🙂", "<b>", "line\nbreak"]  # what message texts carry besides a unique number


@dataclass
class Thread:
    """What the ledger knows about one session: every accepted message by id, and the keys used."""

    session_id: str
    product_id: str
    conversation: str
    messages: dict[int, dict] = field(default_factory=dict)  # id -> the message as accepted
    keys: dict[str, int] = field(default_factory=dict)  # Idempotency-Key -> message id
    deleted: bool = False

    def url(self) -> str:
        return messages_url(self.session_id, self.product_id)

    def in_order(self) -> list[dict]:
        return sorted(self.messages.values(), key=lambda m: m["seq"])


@pytest.fixture(scope="module")
def api_settings():
    return {"messages_per_minute": 100_000, "sessions_per_hour": 100_000}  # the mix posts fast; limits have own tests


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def staff(app):
    _agent, token = await new_agent("ledger@example.com", "Lea")
    return bearer(token)


class Ledger:
    """The random mix and its bookkeeping; each step asserts the answer it got before recording it."""

    def __init__(self, client, staff: dict[str, str], seed: int) -> None:
        self.client = client
        self.staff = staff
        self.rng = random.Random(seed)
        self.threads: list[Thread] = []
        self.counter = 0
        self.tally: dict[str, int] = {}

    def _text(self) -> str:
        self.counter += 1
        pad = " " * self.rng.randint(0, 2)
        return f"{pad}note {self.counter} {self.rng.choice(FLAVOURS)}{pad}"

    def _live(self) -> list[Thread]:
        return [t for t in self.threads if not t.deleted]

    def _accept(self, thread: Thread, response, sent: str, author: str, key: str | None) -> None:
        assert response.status_code == 201, response.text
        message = response.json()
        assert message["id"] not in thread.messages, "a 201 returned a message the ledger already holds"
        assert message["body"] == sent.strip()
        assert message["author"] == author
        assert message["client_key"] == key
        assert message["seq"] == len(thread.messages) + 1, "seqs are 1, 2, 3, ... per thread"
        thread.messages[message["id"]] = message
        if key is not None:
            thread.keys[key] = message["id"]

    async def create(self) -> None:
        product_id = self.rng.choice(PRODUCTS)
        response = await self.client.post(sessions_url(product_id))
        assert response.status_code == 201, response.text
        session_id = response.json()["session_id"]
        self.threads.append(Thread(session_id, product_id, await conversation_of(session_id)))

    async def post(self) -> None:
        thread = self.rng.choice(self._live())
        key = f"key-{self.counter}-{self.rng.randrange(10**6)}" if self.rng.random() < 0.5 else None
        text = self._text()
        headers = {"Idempotency-Key": key} if key else {}
        response = await self.client.post(thread.url(), json={"content": text}, headers=headers)
        self._accept(thread, response, text, "shopper", key)

    async def staff_reply(self) -> None:
        thread = self.rng.choice(self._live())
        key = f"reply-{self.counter}" if self.rng.random() < 0.5 else None
        text = self._text()
        headers = {**self.staff, **({"Idempotency-Key": key} if key else {})}
        response = await self.client.post(replies_url(thread.conversation), json={"content": text}, headers=headers)
        self._accept(thread, response, text, "agent", key)
        assert response.json()["agent_name"] == "Lea"

    async def retry(self) -> None:
        """A retry of an accepted keyed message, by whoever sent it: 200 and the same message, nothing new."""
        keyed = [(t, k) for t in self._live() for k in t.keys]
        if not keyed:
            return
        thread, key = self.rng.choice(keyed)
        original = thread.messages[thread.keys[key]]
        text = original["body"] + " " * self.rng.randint(0, 1)  # trimmed the same way, so the same message
        if original["author"] == "shopper":
            response = await self.client.post(thread.url(), json={"content": text}, headers={"Idempotency-Key": key})
        else:
            headers = {**self.staff, "Idempotency-Key": key}
            response = await self.client.post(replies_url(thread.conversation), json={"content": text}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == original

    async def reuse_key(self) -> None:
        """A key already used, with other text: 409 and nothing stored."""
        keyed = [(t, k) for t in self._live() for k in t.keys]
        if not keyed:
            return
        thread, key = self.rng.choice(keyed)
        response = await self.client.post(
            thread.url(), json={"content": self._text() + " (changed)"}, headers={"Idempotency-Key": key}
        )
        assert_error(response, 409, "idempotency_key_reused")

    async def refused(self) -> None:
        """Input the service refuses (empty, too long) or a thread that is gone: nothing stored."""
        thread = self.rng.choice(self.threads)
        if thread.deleted:
            response = await self.client.post(thread.url(), json={"content": "after erasing"})
            assert_error(response, 404, "session_not_found")
            return
        content = self.rng.choice(["", "  \n ", "x" * (settings.max_message_chars + 1)])
        assert_error(await self.client.post(thread.url(), json={"content": content}), 422)

    async def read(self) -> None:
        """Page through a thread (as the shopper or as staff) and compare with the ledger now."""
        thread = self.rng.choice(self._live())
        as_staff = self.rng.random() < 0.5
        assert await self.walk(thread, as_staff=as_staff) == thread.in_order()

    async def walk(self, thread: Thread, *, as_staff: bool) -> list[dict]:
        """Every message of a thread, oldest first, read page by page through a list endpoint."""
        url, headers = (replies_url(thread.conversation), self.staff) if as_staff else (thread.url(), {})
        seen: list[dict] = []
        before = None
        while True:
            params = {"limit": self.rng.randint(1, 7)} | ({"before": before} if before else {})
            response = await self.client.get(url, params=params, headers=headers)
            assert response.status_code == 200, response.text
            page = response.json()
            assert [m["seq"] for m in page["messages"]] == sorted((m["seq"] for m in page["messages"]), reverse=True)
            seen.extend(page["messages"])
            before = page["next_before"]
            if before is None:
                break
        return list(reversed(seen))

    async def delete(self) -> None:
        thread = self.rng.choice(self._live())
        response = await self.client.delete(session_url(thread.session_id, thread.product_id))
        assert response.status_code == 204, response.text
        thread.deleted = True

    async def run(self, operations: int) -> None:
        steps = [
            (self.create, 6),
            (self.post, 40),
            (self.staff_reply, 15),
            (self.retry, 12),
            (self.reuse_key, 4),
            (self.refused, 5),
            (self.read, 12),
            (self.delete, 3),
        ]
        actions, weights = zip(*steps, strict=True)
        for _ in range(operations):
            action = self.rng.choices(actions, weights)[0]
            if action is not self.create and len(self._live()) < 2:
                action = self.create
            await action()
            self.tally[action.__name__] = self.tally.get(action.__name__, 0) + 1


async def test_every_accepted_message_is_stored_exactly_once(client, staff):
    ledger = Ledger(client, staff, SEED)

    await ledger.run(OPERATIONS)

    live, deleted = ledger._live(), [t for t in ledger.threads if t.deleted]
    assert set(ledger.tally) == {"create", "post", "staff_reply", "retry", "reuse_key", "refused", "read", "delete"}
    assert deleted and live, f"the mix (seed {SEED}) should both keep and erase threads: {ledger.tally}"
    inbox = await client.get(conversations_url(), params={"limit": 500}, headers=staff)
    assert inbox.status_code == 200
    listed = {c["conversation"]: c for c in inbox.json()["conversations"]}
    for thread in live:
        expected = thread.in_order()
        assert [m["seq"] for m in expected] == list(range(1, len(expected) + 1))
        as_shopper = await ledger.walk(thread, as_staff=False)
        as_staff = await ledger.walk(thread, as_staff=True)
        assert as_shopper == expected, f"thread {thread.conversation} (seed {SEED})"
        assert as_staff == expected, f"thread {thread.conversation} (seed {SEED})"
        assert len({m["id"] for m in as_shopper}) == len(as_shopper)
        detail = await client.get(conversation_url(thread.conversation), headers=staff)
        assert detail.status_code == 200
        assert detail.json()["message_count"] == len(expected)
        if expected:
            assert listed[thread.conversation]["last_message"] == expected[-1]["body"][:120]
        else:
            assert thread.conversation not in listed
    for thread in deleted:
        assert_error(await client.get(thread.url()), 404, "session_not_found")
        assert_error(await client.get(session_url(thread.session_id, thread.product_id)), 404, "session_not_found")
        assert_error(await client.get(conversation_url(thread.conversation), headers=staff), 404, "session_not_found")
        assert thread.conversation not in listed
    async with db.session() as s:  # the table itself holds the live threads' messages and nothing else
        stored = set((await s.exec(sa.select(ChatMessage.id, ChatMessage.body))).all())
    assert stored == {(m["id"], m["body"]) for t in live for m in t.messages.values()}
    assert sum(len(t.messages) for t in deleted) > 0


async def test_concurrent_retries_of_one_key_store_one_message(client, staff):
    """A shopper's client firing the same keyed post several times at once (a flaky network) stores it once."""
    ledger = Ledger(client, staff, SEED + 1)
    await ledger.create()
    thread = ledger.threads[0]

    responses = await asyncio.gather(
        *(
            client.post(thread.url(), json={"content": "sent five times"}, headers={"Idempotency-Key": "burst"})
            for _ in range(5)
        )
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 200, 200, 201], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    stored = await ledger.walk(thread, as_staff=False)
    assert [m["body"] for m in stored] == ["sent five times"]
