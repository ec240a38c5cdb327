"""Writing and sending a reply email through RXCHAT_SMTP_URL with aiosmtplib (async: never blocks the loop).

The email is in the language of the widget where the shopper saved their address (rxchat/i18n, `email.*`),
plain text and HTML, with the product's name, the replies, the resume link and the unsubscribe link (also as
a List-Unsubscribe header). Neither the email nor its links carry the session id.
"""

import html
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib

from rxchat import i18n
from rxchat.services.email import ReplyEmail
from rxchat.settings import settings

SMTP_TIMEOUT_SECS = 20.0  # connect, and each command; a hung server counts as a failed attempt


def smtp_options(url: str) -> dict[str, Any]:
    """aiosmtplib's connection options from `smtp://[user:password@]host:port` (`smtps://`: TLS from the start;
    plain smtp:// upgrades with STARTTLS when the server offers it)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("RXCHAT_SMTP_URL must look like smtp://[user:password@]host:port")
    tls = parts.scheme == "smtps"
    options: dict[str, Any] = {"hostname": parts.hostname, "port": parts.port or (465 if tls else 25), "use_tls": tls}
    if parts.username:
        options["username"] = unquote(parts.username)
        options["password"] = unquote(parts.password or "")
    return options


def compose(email: ReplyEmail) -> EmailMessage:
    locale = email.locale if email.locale in i18n.locales() else i18n.DEFAULT_LOCALE

    def t(key: str, **params: object) -> str:
        return i18n.text(key, locale, **params)

    message = EmailMessage()
    message["Subject"] = t("email.subject", product=email.product_name)
    message["From"] = settings.mail_from
    message["To"] = email.to
    message["Message-ID"] = make_msgid(domain=urlsplit(settings.public_url).hostname or "localhost")
    message["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
    replies_text = "\n\n".join(f"{r.agent_name}:\n{r.body}" for r in email.replies)
    message.set_content(
        "\n\n".join(
            [
                t("email.intro", product=email.product_name),
                replies_text,
                f"{t('email.continue')}\n{email.resume_url}",
                t("email.link_note"),
                f"{t('email.product_page')}: {email.product_url}",
                f"{t('email.unsubscribe')}: {email.unsubscribe_url}",
            ]
        )
        + "\n"
    )
    esc = html.escape
    replies_html = "".join(
        f"<p><strong>{esc(r.agent_name)}</strong><br>{esc(r.body).replace(chr(10), '<br>')}</p>" for r in email.replies
    )
    message.add_alternative(
        f"""<!doctype html><html lang="{esc(locale)}"><body style="font-family:sans-serif">
<p>{esc(t("email.intro", product=email.product_name))}</p>
{replies_html}
<p><a href="{esc(email.resume_url)}">{esc(t("email.continue"))}</a></p>
<p style="color:#666;font-size:small">{esc(t("email.link_note"))}<br>
<a href="{esc(email.product_url)}">{esc(t("email.product_page"))}</a> ·
<a href="{esc(email.unsubscribe_url)}">{esc(t("email.unsubscribe"))}</a></p>
</body></html>""",
        subtype="html",
    )
    return message


async def send(email: ReplyEmail) -> None:
    """Send one reply email; raises on any failure (the outbox retries it)."""
    if not settings.smtp_url:
        raise RuntimeError("RXCHAT_SMTP_URL is not set")
    await aiosmtplib.send(compose(email), timeout=SMTP_TIMEOUT_SECS, **smtp_options(settings.smtp_url))
