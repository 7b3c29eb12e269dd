"""Provider presets: `provider: gmail` fills server, port and ssl, and brings the provider's traps.

Each preset gives the provider's documented STARTTLS submission settings (port
587), because maestro* sends with STARTTLS when `ssl: true` and cannot speak
implicit TLS on port 465; a provider that offered only 465 would get the
`smtp-465-starttls` warning. `source` is the page of the provider's own
documentation the settings come from; `verified` is False where no such page
could be checked, and that preset warns so.

Traps are warnings with stable codes (scripts and the plan JSON key on them);
their messages may change.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import msgspec

from mailprov.errors import MailprovError
from mailprov.i18n import N_, _, stored

PROVIDER_KEY = "provider"
"""The key, in `general.smtp` and a user's `smtp`, that names a preset."""


class PresetError(MailprovError):
    """An unknown provider name."""


class Trap(msgspec.Struct, frozen=True):
    """A known pitfall of a provider: a stable code, and a message translated when shown."""

    code: str
    message: str
    values: tuple[tuple[str, str], ...] = ()

    def text(self) -> str:
        """The message in the chosen language, its placeholders filled."""
        # values are names (left as they are) or places in a provider's menus (marked N_)
        # stored: English in a plan's JSON, translated where shown (mailprov.i18n.stored)
        return stored(self.message, **{key: stored(value) for key, value in self.values})


class Preset(msgspec.Struct, frozen=True):
    """One provider's documented submission settings, login rule and traps."""

    name: str
    label: str
    server: str
    port: int
    ssl: bool
    source: str
    login: str
    """`address`: the full e-mail address; `address-or-ip`: by IP address, or a full address."""
    traps: tuple[Trap, ...] = ()
    verified: bool = True

    def settings(self) -> dict[str, Any]:
        """What the preset fills: server, port and ssl."""
        return {"server": self.server, "port": self.port, "ssl": self.ssl}

    def warnings(self) -> list[tuple[str, str]]:
        """(code, message) of every trap, translated, unverified and 465-only first."""
        found: list[tuple[str, str]] = []
        if not self.verified:
            found.append(("preset-unverified", stored(N_(
                "the {label} settings ({server}:{port}) come from third-party listings, not from "
                "a page of {label} that could be checked: confirm them with {label}, and send a "
                "test with `mailprov test-send` before relying on them"),
                label=stored(self.label), server=self.server, port=self.port)))
        if self.port == 465:
            found.append(("smtp-465-starttls", stored(N_(
                "{label} documents only port 465 (implicit TLS), which maestro* cannot use: it "
                "speaks STARTTLS only and hangs until timeout there; use a provider or relay "
                "that offers port 587"), label=stored(self.label))))
        found.extend((trap.code, trap.text()) for trap in self.traps)
        return found


_APP_PASSWORD = Trap("app-password-required", N_(
    "{label} accepts only an app password from programs like maestro*: turn on two-step "
    "verification for the account, create an app password ({where}), and have the user type "
    "that password in maestro* (Préférences > Courriel) or give it to `mailprov password set`, "
    "not the account's own password"))


def _app_password(label: str, where: str) -> Trap:
    return Trap(_APP_PASSWORD.code, _APP_PASSWORD.message, (("label", label), ("where", where)))


def _isp_mailbox(label: str) -> Trap:
    return Trap("isp-mailbox", N_(
        "a {label} mailbox comes with an Internet subscription and ends with it: for a "
        "company, prefer a mailbox on its own domain"), (("label", label),))


BASIC_AUTH_RETIREMENT_CODE = "office365-basic-auth-retirement"
BASIC_AUTH_RETIREMENT = N_(
    "sending with a password (SMTP AUTH) stops working when Microsoft turns basic "
    "authentication off by default for existing Exchange Online tenants, at the end of "
    "December 2026: maestro* then gets `550 5.7.30` (basic authentication is not supported "
    "for client submission) or `535 5.7.139` (SMTP AUTH is disabled for the tenant). Move to "
    "Office 365 – Modern Authentication (`office365:` instead of `smtp:`, maestro* 3.05; "
    "`mailprov migrate office365` rewrites the files), or send through a relay")
"""What every remaining password-based override on Exchange Online is warned of."""


_PRESETS: tuple[Preset, ...] = (
    Preset(
        "office365", "Microsoft 365 (Exchange Online)", "smtp.office365.com", 587, True,
        "https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/"
        "how-to-set-up-a-multifunction-device-or-application-to-send-email-using-microsoft-365"
        "-or-office-365",
        "address",
        (Trap(BASIC_AUTH_RETIREMENT_CODE, BASIC_AUTH_RETIREMENT),
         Trap("office365-smtp-auth-per-mailbox", N_(
             "Exchange Online also needs Authenticated SMTP turned on for each sending mailbox "
             "(Microsoft 365 admin center > Users > the user > Mail > Manage email apps), and "
             "security defaults or multifactor authentication on the account refuse a plain "
             "password"))),
    ),
    Preset(
        "gmail", "Gmail", "smtp.gmail.com", 587, True,
        "https://support.google.com/mail/answer/7126229",
        "address",
        (_app_password("Gmail", N_("Google Account > Security > App passwords")),
         Trap("google-workspace-use-relay", N_(
             "for Google Workspace accounts the administrator may forbid app passwords; the "
             "Workspace SMTP relay (`provider: google_relay`) is the usual choice for a "
             "company"))),
    ),
    Preset(
        "google_relay", N_("Google Workspace SMTP relay"), "smtp-relay.gmail.com", 587, True,
        "https://support.google.com/a/answer/2956491",
        "address-or-ip",
        (Trap("relay-by-ip", N_(
            "the Workspace administrator must turn on the SMTP relay service (Admin console > "
            "Apps > Google Workspace > Gmail > Routing > SMTP relay service) and allow the "
            "office's public IP addresses, or require SMTP authentication with a Workspace "
            "user's address; mail sent from any other network is refused")),
         Trap("relay-allowed-senders", N_(
             "the relay's \"Allowed senders\" setting decides which From addresses it accepts "
             "(registered users only, any address of your domains, or any address): check that "
             "shared mailboxes such as the accounting address pass"))),
    ),
    Preset(
        "outlook_com", "Outlook.com", "smtp-mail.outlook.com", 587, True,
        "https://support.microsoft.com/en-us/office/"
        "pop-imap-and-smtp-settings-for-outlook-com-d088b986-291d-42b8-9564-9c414e2aa040",
        "address",
        (Trap("outlook-com-basic-auth", N_(
            "Microsoft is ending password sign-in for Outlook.com accounts in other programs: "
            "an account may need an app password, or may no longer send this way at all; test "
            "with `mailprov test-send`, and prefer a business mailbox (`provider: office365`) "
            "for a company")),),
    ),
    Preset(
        "yahoo", "Yahoo Mail", "smtp.mail.yahoo.com", 587, True,
        "https://help.yahoo.com/kb/SLN4075.html",
        "address",
        (_app_password("Yahoo Mail", N_("Yahoo Account Security > Generate app password")),),
    ),
    Preset(
        "icloud", "iCloud Mail", "smtp.mail.me.com", 587, True,
        "https://support.apple.com/en-us/102525",
        "address",
        (_app_password("iCloud Mail", N_("account.apple.com > Sign-In and Security > "
                                         "App-Specific Passwords")),),
    ),
    Preset(
        "zoho", "Zoho Mail", "smtp.zoho.com", 587, True,
        "https://www.zoho.com/mail/help/zoho-smtp.html",
        "address",
        (Trap("zoho-host-per-account", N_(
            "smtp.zoho.com serves personal accounts of Zoho's US data centre; accounts on your "
            "own domain use smtppro.zoho.com, and other data centres have their own hosts "
            "(smtp.zohocloud.ca in Canada, smtp.zoho.eu in Europe): set `server` to the host "
            "Zoho Mail shows in its settings")),
         Trap("app-password-with-2fa", N_(
             "with two-factor authentication on, Zoho Mail needs an application-specific "
             "password (Zoho Accounts > Security > App Passwords) instead of the account's "
             "own"))),
    ),
    Preset(
        "ovh", "OVHcloud MX Plan", "ssl0.ovh.net", 587, True,
        "https://github.com/ovh/docs/blob/HEAD/pages/web_cloud/email_and_collaborative_solutions/"
        "mx_plan/email_generalities/guide.fr-fr.md",
        "address",
        (Trap("ovh-host-per-offer", N_(
            "ssl0.ovh.net serves MX Plan mailboxes of OVHcloud Europe; OVHcloud Canada (ovh.ca) "
            "mailboxes use smtp.mail.ovh.ca, and Email Pro or Hosted Exchange mailboxes the host "
            "shown in the OVHcloud control panel: set `server` when yours differs")),),
    ),
    Preset(
        "videotron", "Vidéotron", "smtp.videotron.ca", 587, True,
        "https://videotron.com/en/support",
        "address",
        (Trap("isp-relay-network-only", N_(
            "Vidéotron's older relay, relais.videotron.ca (port 25, no login), accepts mail only "
            "from Vidéotron's own network: a workstation or server elsewhere (maestro*CLOUD, "
            "another ISP) cannot use it")),
         _isp_mailbox("Vidéotron")),
        verified=False,
    ),
    Preset(
        "bell", "Bell (bell.net, sympatico.ca)", "smtphm.sympatico.ca", 587, True,
        "https://support.bell.ca/internet/email/how-to-use-bell-mail",
        "address",
        (_isp_mailbox("Bell"),),
    ),
)
_BY_NAME: dict[str, Preset] = {preset.name: preset for preset in _PRESETS}


def preset_names() -> tuple[str, ...]:
    """Every provider name, in the documented order."""
    return tuple(_BY_NAME)


def get_preset(name: str) -> Preset:
    """The preset called `name`; PresetError with a suggestion for a typo."""
    preset = _BY_NAME.get(name)
    if preset is not None:
        return preset
    raise PresetError(unknown_provider_message(name))


def unknown_provider_message(name: str) -> str:
    """Why `name` is no provider, with the closest one and the list."""
    names = list(_BY_NAME)
    text = str(name)
    folded = text.strip().lower().replace("-", "_").replace(" ", "_").replace(".", "_")
    close = [folded] if folded in _BY_NAME else (
        difflib.get_close_matches(folded, names, n=1, cutoff=0.6) if len(folded) < 64 else [])
    shown = text if len(text) <= 60 else text[:57] + "..."
    if close:
        return _("unknown provider '{name}'; did you mean '{close}'? (providers: {names})").format(
            name=shown, close=close[0], names=", ".join(names))
    return _("unknown provider '{name}' (providers: {names}); or leave `provider` out and set "
             "server, port and ssl").format(name=shown, names=", ".join(names))


def apply_preset(name: str, explicit: Mapping[str, Any]) -> dict[str, Any]:
    """The preset's server, port and ssl, overridden by every key of `explicit` that is set.

    `explicit` is an `smtp` mapping as written (with or without `provider`); a key
    whose value is None counts as not set. The result has no `provider` key.
    """
    merged = get_preset(name).settings()
    merged.update((key, value) for key, value in explicit.items()
                  if key != PROVIDER_KEY and value is not None)
    return merged


def preset_warnings(name: str) -> list[tuple[str, str]]:
    """(code, message) for each trap of the provider, e.g. ("app-password-required", "...")."""
    return get_preset(name).warnings()


def login_warning(name: str, username: str | None) -> tuple[str, str] | None:
    """("login-not-address", message) when the provider signs in with a full address and
    `username` is not one; None otherwise (or when no username is set)."""
    preset = get_preset(name)
    if username is None or "@" in username or "{" in username:
        return None
    if preset.login == "address-or-ip":
        return ("login-not-address", _(
            "{label} takes either no login (relay by IP address) or a Workspace user's full "
            "e-mail address; '{username}' is neither").format(label=_(preset.label),
                                                              username=username))
    return ("login-not-address", _(
        "{label} signs in with the full e-mail address (name@domain); '{username}' is not "
        "one").format(label=_(preset.label), username=username))


def login_preset(server: str | None) -> Preset | None:
    """The preset whose server is `server` when that provider accepts only signed-in
    accounts (an override there needs a `username`); None for any other server, relays
    by IP address included."""
    if not server:
        return None
    host = server.strip().lower()
    return next((preset for preset in _PRESETS
                 if preset.server == host and preset.login == "address"), None)
