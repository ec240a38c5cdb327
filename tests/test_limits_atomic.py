"""Limits that guard secrets hold under parallel guessing: staff sign-ins and adopting ids of the original system.

Each attempt is counted before the password hash or the database is reached, in one atomic hit, so guesses
sent all at once (one socket each, or one socket in a burst) are capped exactly as serial ones. Each test runs
on the in-process windows and on Redis (as with REFLEX_REDIS_URL set, two workers sharing the windows).
"""

import asyncio
import uuid

import pytest
import sqlalchemy as sa
from limits import RateLimitItemPerHour
from sqlmodel import select

from factories import DEMO_PRODUCT, make_session, second_session
from rxchat.models import ChatSession
from rxchat.services import agents, errors, ids, lifecycle, limits
from rxchat.settings import settings

PASSWORD = "correct horse battery"
WRONG = "wrong horse battery"
REDIS_TEST_URL = "redis://127.0.0.1:6379/15"  # a database of its own, as the API tests use
LEGACY_ID = "session_1700000000000_k3j4h5g6f_fp9a8b7c"  # the original system's format


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
async def storage(request, monkeypatch):
    """The limiter's windows: in this process, or in Redis shared by two workers (two limiters taking turns)."""
    await limits.reset()
    loop = asyncio.get_running_loop()
    if request.param == "redis":
        monkeypatch.setattr(settings, "redis_url", REDIS_TEST_URL)
        workers = [limits.MovingWindowRateLimiter(limits.storage_for(REDIS_TEST_URL)) for _ in range(2)]
        turn = iter(range(10**9))
        monkeypatch.setattr(limits, "_limiter", lambda: workers[next(turn) % 2])
    else:
        monkeypatch.setattr(settings, "redis_url", None)
    yield request.param
    limits._limiters.pop(loop, None)


@pytest.fixture
def run_id() -> str:
    """Keys of this run only: Redis windows outlive a test (they expire on their own) and are shared."""
    return uuid.uuid4().hex[:12]


class CountingHasher:
    """The argon2 hasher, counting the passwords it checks."""

    def __init__(self, hasher):
        self._hasher, self.verified = hasher, 0

    def verify(self, password_hash, password):
        self.verified += 1
        return self._hasher.verify(password_hash, password)

    def hash(self, password):
        return self._hasher.hash(password)


@pytest.fixture
def hasher(monkeypatch) -> CountingHasher:
    counting = CountingHasher(agents._hasher)
    monkeypatch.setattr(agents, "_hasher", counting)
    return counting


async def attempt_sign_in(db, *, email: str, password: str, client_address: str) -> str:
    """One sign-in on a connection of its own, as from its own socket: 'signed in', 'checked' or 'refused'."""
    async with second_session(db) as own:
        try:
            await agents.sign_in(own, email=email, password=password, client_address=client_address)
        except agents.InvalidCredentials:
            return "checked"
        except errors.RateLimited as refused:
            assert refused.retry_after > 0 and "Too many failed sign-ins" in refused.message
            return "refused"
    return "signed in"


# --- sign-ins ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spread", ["one email, one address", "many emails, one address", "one email, many addresses"])
async def test_40_wrong_sign_ins_at_once_at_most_the_limit_reach_the_hash(db, storage, hasher, run_id, spread):
    email = f"ann-{run_id}@example.com"
    await agents.create_agent(db, email=email, name="Ann", password=PASSWORD)

    def target(n: int) -> dict:
        emails = f"guess{n}-{run_id}@example.com" if spread == "many emails, one address" else email
        address = f"10.{n}.0.1-{run_id}" if spread == "one email, many addresses" else f"10.0.0.1-{run_id}"
        return {"email": emails, "client_address": address}

    results = await asyncio.gather(*(attempt_sign_in(db, password=WRONG, **target(n)) for n in range(40)))

    assert hasher.verified <= limits.FAILED_SIGN_INS_ALLOWED
    assert results.count("checked") == hasher.verified
    assert results.count("refused") == 40 - hasher.verified
    assert results.count("checked") >= 1
    # The guesses used up the window: the right password is refused too, without being checked.
    assert await attempt_sign_in(db, password=PASSWORD, **target(0)) == "refused"
    assert hasher.verified <= limits.FAILED_SIGN_INS_ALLOWED


async def test_a_right_password_after_a_few_typos_signs_in_and_successes_use_up_nothing(db, storage, hasher, run_id):
    email, address = f"ann-{run_id}@example.com", f"10.0.0.1-{run_id}"
    await agents.create_agent(db, email=email, name="Ann", password=PASSWORD)
    for _typo in range(limits.FAILED_SIGN_INS_ALLOWED - 1):
        assert await attempt_sign_in(db, email=email, password=WRONG, client_address=address) == "checked"
    assert await attempt_sign_in(db, email=email, password=PASSWORD, client_address=address) == "signed in"

    # Successes give their attempt back: signing in again and again uses up nothing.
    for _ in range(limits.FAILED_SIGN_INS_ALLOWED * 2):
        assert await attempt_sign_in(db, email=email, password=PASSWORD, client_address=address) == "signed in"

    # The address still holds its four typos: one more failure, then it is refused.
    assert await attempt_sign_in(db, email=email, password=WRONG, client_address=address) == "checked"
    assert await attempt_sign_in(db, email=email, password=PASSWORD, client_address=address) == "refused"


async def test_attempts_refused_for_their_email_leave_the_address_allowance(db, storage, hasher, run_id):
    """Someone locking Ann's email from elsewhere does not lock out her office's address as well."""
    email, office = f"ann-{run_id}@example.com", f"10.0.0.1-{run_id}"
    await agents.create_agent(db, email=email, name="Ann", password=PASSWORD)
    await agents.create_agent(db, email=f"bob-{run_id}@example.com", name="Bob", password=PASSWORD)
    for n in range(limits.FAILED_SIGN_INS_ALLOWED):
        assert (
            await attempt_sign_in(db, email=email, password=WRONG, client_address=f"10.{n}.9.9-{run_id}") == "checked"
        )
    for _ in range(20):
        assert await attempt_sign_in(db, email=email, password=PASSWORD, client_address=office) == "refused"
    checked = hasher.verified

    for _ in range(limits.FAILED_SIGN_INS_ALLOWED - 1):
        assert await attempt_sign_in(db, email=f"bob-{run_id}@example.com", password=WRONG, client_address=office) == (
            "checked"
        )
    assert await attempt_sign_in(db, email=f"bob-{run_id}@example.com", password=PASSWORD, client_address=office) == (
        "signed in"
    )
    assert hasher.verified == checked + limits.FAILED_SIGN_INS_ALLOWED


# --- adopting ids of the original system -------------------------------------------------------------------------


def guess(n: int) -> str:
    return f"session_{1700000000000 + n}_k3j4h5g6f_fp9a8b7c"


class CountingLookups:
    """A database session that counts the lookups reaching it and finds nothing (many concurrent callers)."""

    def __init__(self):
        self.lookups = 0

    async def exec(self, _statement):
        self.lookups += 1
        await asyncio.sleep(0)  # as a real query would, let the other guesses run meanwhile
        return type("NoRows", (), {"first": staticmethod(lambda: None)})()


async def adopt(db, legacy_id: str, **caller) -> str:
    try:
        adopted = await lifecycle.adopt_legacy_session(db, product_id=DEMO_PRODUCT, legacy_id=legacy_id, **caller)
    except errors.RateLimited as refused:
        assert refused.retry_after > 0
        return "refused"
    return "unknown" if adopted is None else "adopted"


@pytest.mark.parametrize("tabs", ["one tab", "a new tab per guess"])
async def test_500_legacy_guesses_at_once_from_one_address_at_most_the_limit_reach_the_database(storage, run_id, tabs):
    database = CountingLookups()
    address = f"203.0.113.7-{run_id}"

    def tab(n: int) -> str:
        return f"tab-{run_id}" if tabs == "one tab" else f"tab-{run_id}-{n}"

    results = await asyncio.gather(*(adopt(database, guess(n), client_address=address, tab=tab(n)) for n in range(500)))

    allowed = settings.legacy_adoptions_per_tab if tabs == "one tab" else settings.legacy_adoptions_per_hour
    assert database.lookups == allowed
    assert results.count("unknown") == allowed and results.count("refused") == 500 - allowed


async def test_legacy_guesses_past_the_limit_never_adopt_the_real_id(db, storage, run_id):
    chat_session = await make_session(db)
    await db.exec(sa.update(ChatSession).where(ChatSession.id == chat_session.id).values(session_id=LEGACY_ID))
    await db.commit()
    address = f"203.0.113.7-{run_id}"

    results = [await adopt(db, guess(n), client_address=address, tab=f"tab-{run_id}-{n}") for n in range(1, 500)]
    right_one = await adopt(db, LEGACY_ID, client_address=address, tab=f"tab-{run_id}-fresh")

    assert results.count("unknown") == settings.legacy_adoptions_per_hour
    assert right_one == "refused"
    stored = (await db.exec(select(ChatSession.session_id).where(ChatSession.id == chat_session.id))).one()
    assert stored == LEGACY_ID, "the conversation was not taken over"
    # The shopper it belongs to, from their own address, still adopts it.
    async with second_session(db) as own:
        assert await adopt(own, LEGACY_ID, client_address=f"198.51.100.2-{run_id}", tab=f"tab-{run_id}") == "adopted"


async def test_legacy_guesses_without_an_address_share_one_limit_and_malformed_ids_are_not_counted(storage):
    shared = RateLimitItemPerHour(settings.legacy_adoptions_per_hour)
    await limits._limiter().clear(shared, "legacy-address", "unknown")  # in Redis, an earlier run's window
    database = CountingLookups()
    for _ in range(50):
        assert await adopt(database, LEGACY_ID + "'; --") == "unknown"
    assert database.lookups == 0

    results = [await adopt(database, guess(n)) for n in range(30)]
    assert database.lookups == settings.legacy_adoptions_per_hour
    assert results.count("refused") == 30 - settings.legacy_adoptions_per_hour


async def test_legacy_limits_of_0_are_off(storage, monkeypatch, run_id):
    monkeypatch.setattr(settings, "legacy_adoptions_per_hour", 0)
    monkeypatch.setattr(settings, "legacy_adoptions_per_tab", 0)
    database = CountingLookups()

    await asyncio.gather(*(adopt(database, guess(n), client_address=run_id, tab=run_id) for n in range(50)))

    assert database.lookups == 50
    assert ids.is_legacy_session_id(guess(49))
