"""A shopper's optional name and email: validated once here, attached to their conversations."""

from pydantic import validate_email
from sqlmodel.ext.asyncio.session import AsyncSession

from rxchat.models import ChatSession
from rxchat.services import errors
from rxchat.settings import settings

EMAIL_MAX_CHARS = 254


def clean_email(email: object) -> str:
    """A syntactically valid email, trimmed and lower-cased; InvalidInput otherwise.

    The API's rule: pydantic's EmailStr check (email-validator, no deliverability lookup), so the widget, staff
    accounts and the HTTP API accept the same addresses.
    """
    text = email.strip() if isinstance(email, str) else ""
    try:
        _name, address = validate_email(text)  # refuses "" and anything over EMAIL_MAX_CHARS as well
    except ValueError as refused:
        raise errors.InvalidInput(key="error.email_invalid") from refused
    return address.lower()


def clean_profile(name: object, email: object) -> tuple[str | None, str | None]:
    """Both optional: empty means 'not given'."""
    name_text = name.strip() if isinstance(name, str) else ""
    if len(name_text) > settings.max_name_chars or not name_text.isprintable():
        raise errors.InvalidInput(key="error.name_too_long", max=settings.max_name_chars)
    email_text = email.strip() if isinstance(email, str) else ""
    return name_text or None, clean_email(email_text) if email_text else None


async def update_customer(db: AsyncSession, *, chat_session: ChatSession, name: str | None, email: str | None) -> None:
    chat_session.customer_name, chat_session.customer_email = name, email
    db.add(chat_session)
    await db.commit()
