"""The recipient of a test message, checked before any connection is made."""

from __future__ import annotations

from mailprov.errors import MailprovError, visible
from mailprov.i18n import _


def check_recipient(to: str | None, check_only: bool) -> None:
    """A recipient is needed to send, and must be an address (no line breaks that could
    smuggle SMTP commands). Test domains (`.test`) are accepted: a lab server is a fair
    place to send a test message."""
    if to is None:
        if not check_only:
            raise MailprovError(_("no recipient: give --to ADDRESS to send the test message, "
                                  "or --check to connect and log in without sending"))
        return
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(to, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise MailprovError(_("--to {address} is not an e-mail address: {reason}").format(
            address=visible(to), reason=exc)) from None
