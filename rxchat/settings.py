"""One settings object for the whole app, read from the environment.

rxconfig.py, the services, the CLI and the tests all read `settings`; nothing
else calls os.getenv. Reflex's own names (REFLEX_DB_URL, REFLEX_REDIS_URL) pick
the services, rxchat's own knobs are RXCHAT_*.
"""

import os

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_URL = "sqlite:///rxchat.db"
DB_URL_VARIABLES = ("REFLEX_DB_URL", "RXCHAT_DB_URL")  # either names the database for the process


def async_url_for(db_url: str) -> str:
    """The async-driver twin of a sync database URL (aiosqlite / asyncpg)."""
    scheme, sep, rest = db_url.partition("://")
    if not sep:
        return db_url
    base = scheme.split("+", 1)[0]
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}
    return f"{driver.get(base, scheme)}://{rest}"


def sync_url_for(db_url: str) -> str:
    """The sync-driver URL Alembic and Reflex's own tooling use."""
    scheme, sep, rest = db_url.partition("://")
    if not sep:
        return db_url
    base = scheme.split("+", 1)[0]
    return f"{'postgresql' if base == 'postgres' else base}://{rest}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RXCHAT_", extra="ignore")

    db_url: str = Field(default=DEFAULT_DB_URL, validation_alias=AliasChoices("REFLEX_DB_URL", "RXCHAT_DB_URL"))
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REFLEX_REDIS_URL", "RXCHAT_REDIS_URL"))
    # Reverse proxies in front of the app (nginx: 1): the client's address, which per-address limits count, is
    # then read from X-Forwarded-For that many hops from its end. 0 ignores the header (a client could forge it).
    trusted_proxy_hops: int = Field(default=0, ge=0, validation_alias=AliasChoices("REFLEX_TRUSTED_PROXY_HOPS"))

    max_message_chars: int = 4000  # longer bodies are refused, never cut
    max_name_chars: int = 80
    messages_per_minute: int = 20  # per session, UI and API alike
    sessions_per_hour: int = 30  # new sessions per client address
    legacy_adoptions_per_hour: int = 10  # attempts to adopt an original-system id, per client address
    legacy_adoptions_per_tab: int = 3  # the same, per tab (Reflex client token), per hour
    session_ttl_days: int = 30  # idle sessions expire after this
    empty_session_ttl_hours: int = 24  # sessions that never got a message
    sweep_interval_seconds: int = 600  # how often the background sweeper runs
    sweep_batch_size: int = 500  # rows deleted per transaction by the sweeper
    clock_offset_file: str | None = None  # tests move time by writing seconds here
    # Keys the link tokens of live rooms (rxchat/live_keys.py). Unset: a random key, shared through Redis
    # when Redis is set, else one per process (state lives in that process then).
    secret_key: str | None = None
    allow_untested_reflex: bool = False  # run on a Reflex that rxchat/reflex_internals.py was not written for
    # The language of the console and of widgets not given `locale=` (rxchat/i18n: "en", "de", or one a host
    # added with rxchat.set_text).
    locale: str = "en"
    # Email continuity (docs/email.md). Unset SMTP URL: no email is ever sent.
    smtp_url: str | None = None  # smtp://[user:password@]host:port (smtps:// for TLS from the start)
    mail_from: str = "rxchat <chat@localhost>"  # the From of reply emails
    public_url: str = "http://localhost:3000"  # the base of links in emails
    email_after_seconds: int = 60  # a reply the shopper has not seen by then is emailed (one email per burst)
    emails_per_hour: int = 3  # at most this many emails per conversation per hour; later replies wait

    @property
    def sync_db_url(self) -> str:
        return sync_url_for(self.db_url)

    @property
    def async_db_url(self) -> str:
        return async_url_for(self.db_url)

    @property
    def is_sqlite(self) -> bool:
        return self.sync_db_url.startswith("sqlite")


settings = Settings()


def use_app_database(db_url: str | None) -> bool:
    """Use `db_url`, the database the Reflex app's rxconfig.py names, unless an environment variable names
    one for the process (`DB_URL_VARIABLES` win) or it is unset. True when `settings.db_url` is now it.
    (Reflex's config is read by the callers, `add_chat` and the CLI, so rxconfig.py may import this module.)
    """
    if not db_url or any(os.environ.get(name) for name in DB_URL_VARIABLES):
        return False
    settings.db_url = db_url
    return True
