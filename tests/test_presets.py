"""Provider presets: documented STARTTLS settings, explicit keys win, traps as stable warnings."""

from __future__ import annotations

import pytest

from mailprov.config.presets import (
    Preset,
    PresetError,
    Trap,
    apply_preset,
    get_preset,
    login_warning,
    preset_names,
    preset_warnings,
)
from mailprov.errors import MailprovError

NAMES = ("office365", "gmail", "google_relay", "outlook_com", "yahoo", "icloud", "zoho", "ovh",
         "videotron", "bell")
PROVIDERS = ", ".join(NAMES)


def test_every_issue_provider_is_there_in_order() -> None:
    assert preset_names() == NAMES


@pytest.mark.parametrize(("name", "server"), [
    ("office365", "smtp.office365.com"),
    ("gmail", "smtp.gmail.com"),
    ("google_relay", "smtp-relay.gmail.com"),
    ("outlook_com", "smtp-mail.outlook.com"),
    ("yahoo", "smtp.mail.yahoo.com"),
    ("icloud", "smtp.mail.me.com"),
    ("zoho", "smtp.zoho.com"),
    ("ovh", "ssl0.ovh.net"),
    ("videotron", "smtp.videotron.ca"),
    ("bell", "smtphm.sympatico.ca"),
])
def test_presets_give_the_starttls_submission_port(name: str, server: str) -> None:
    """maestro* sends with STARTTLS when ssl is true: every preset is port 587 with ssl."""
    preset = get_preset(name)
    assert preset.settings() == {"server": server, "port": 587, "ssl": True}
    assert preset.source.startswith("https://")
    assert preset.login in ("address", "address-or-ip")
    codes = [code for code, _message in preset.warnings()]
    assert len(codes) == len(set(codes))
    assert "smtp-465-starttls" not in codes


def test_explicit_keys_win() -> None:
    assert apply_preset("office365", {"provider": "office365", "port": 2525}) == {
        "server": "smtp.office365.com", "port": 2525, "ssl": True}
    assert apply_preset("gmail", {"server": "smtp.example.com", "ssl": False,
                                  "username": "a@example.com"}) == {
        "server": "smtp.example.com", "port": 587, "ssl": False, "username": "a@example.com"}
    assert apply_preset("bell", {"port": None, "ssl": None}) == {
        "server": "smtphm.sympatico.ca", "port": 587, "ssl": True}  # None is "not set"
    explicit = {"provider": "zoho", "server": "smtppro.zoho.com"}
    apply_preset("zoho", explicit)
    assert explicit == {"provider": "zoho", "server": "smtppro.zoho.com"}  # left untouched


@pytest.mark.parametrize(("name", "message"), [
    ("offic365", f"unknown provider 'offic365'; did you mean 'office365'? (providers: "
                 f"{PROVIDERS})"),
    ("google-relay", f"unknown provider 'google-relay'; did you mean 'google_relay'? "
                     f"(providers: {PROVIDERS})"),
    ("Gmail", f"unknown provider 'Gmail'; did you mean 'gmail'? (providers: {PROVIDERS})"),
    ("outlook.com", f"unknown provider 'outlook.com'; did you mean 'outlook_com'? (providers: "
                    f"{PROVIDERS})"),
    ("aol", f"unknown provider 'aol' (providers: {PROVIDERS}); or leave `provider` out and set "
            "server, port and ssl"),
])
def test_unknown_providers_suggest_the_closest(name: str, message: str) -> None:
    with pytest.raises(PresetError) as caught:
        get_preset(name)
    assert isinstance(caught.value, MailprovError)
    assert str(caught.value) == message
    with pytest.raises(PresetError):
        apply_preset(name, {})


def test_office365_warns_of_the_smtp_auth_retirement() -> None:
    assert preset_warnings("office365") == [
        ("office365-basic-auth-retirement",
         "sending with a password (SMTP AUTH) stops working when Microsoft turns basic "
         "authentication off by default for existing Exchange Online tenants, at the end of "
         "December 2026: maestro* then gets `550 5.7.30` (basic authentication is not supported "
         "for client submission) or `535 5.7.139` (SMTP AUTH is disabled for the tenant). Move "
         "to Office 365 – Modern Authentication (`office365:` instead of `smtp:`, maestro* "
         "3.05; `mailprov migrate office365` rewrites the files), or send through a relay"),
        ("office365-smtp-auth-per-mailbox",
         "Exchange Online also needs Authenticated SMTP turned on for each sending mailbox "
         "(Microsoft 365 admin center > Users > the user > Mail > Manage email apps), and "
         "security defaults or multifactor authentication on the account refuse a plain "
         "password"),
    ]


@pytest.mark.parametrize(("name", "label", "where"), [
    ("gmail", "Gmail", "Google Account > Security > App passwords"),
    ("yahoo", "Yahoo Mail", "Yahoo Account Security > Generate app password"),
    ("icloud", "iCloud Mail",
     "account.apple.com > Sign-In and Security > App-Specific Passwords"),
])
def test_app_passwords(name: str, label: str, where: str) -> None:
    assert preset_warnings(name)[0] == (
        "app-password-required",
        f"{label} accepts only an app password from programs like maestro*: turn on two-step "
        f"verification for the account, create an app password ({where}), and have the user "
        "type that password in maestro* (Préférences > Courriel) or give it to `mailprov "
        "password set`, not the account's own password")


def test_the_google_relay_goes_by_ip_address() -> None:
    assert preset_warnings("google_relay") == [
        ("relay-by-ip",
         "the Workspace administrator must turn on the SMTP relay service (Admin console > Apps "
         "> Google Workspace > Gmail > Routing > SMTP relay service) and allow the office's "
         "public IP addresses, or require SMTP authentication with a Workspace user's address; "
         "mail sent from any other network is refused"),
        ("relay-allowed-senders",
         "the relay's \"Allowed senders\" setting decides which From addresses it accepts "
         "(registered users only, any address of your domains, or any address): check that "
         "shared mailboxes such as the accounting address pass"),
    ]


def test_quebec_isps() -> None:
    assert [code for code, _message in preset_warnings("videotron")] == [
        "preset-unverified", "isp-relay-network-only", "isp-mailbox"]
    assert preset_warnings("videotron")[0] == (
        "preset-unverified",
        "the Vidéotron settings (smtp.videotron.ca:587) come from third-party listings, not "
        "from a page of Vidéotron that could be checked: confirm them with Vidéotron, and send "
        "a test with `mailprov test-send` before relying on them")
    assert preset_warnings("bell") == [
        ("isp-mailbox", "a Bell mailbox comes with an Internet subscription and ends with it: "
                        "for a company, prefer a mailbox on its own domain")]


@pytest.mark.parametrize(("name", "codes"), [
    ("gmail", ["app-password-required", "google-workspace-use-relay"]),
    ("outlook_com", ["outlook-com-basic-auth"]),
    ("zoho", ["zoho-host-per-account", "app-password-with-2fa"]),
    ("ovh", ["ovh-host-per-offer"]),
])
def test_stable_warning_codes(name: str, codes: list[str]) -> None:
    assert [code for code, _message in preset_warnings(name)] == codes


def test_a_provider_with_only_port_465_is_warned() -> None:
    preset = Preset("implicit", "Implicit Mail", "smtp.implicit.example", 465, True,
                    "https://implicit.example/help", "address",
                    (Trap("custom-trap", "a trap"),))
    assert preset.warnings() == [
        ("smtp-465-starttls",
         "Implicit Mail documents only port 465 (implicit TLS), which maestro* cannot use: it "
         "speaks STARTTLS only and hangs until timeout there; use a provider or relay that "
         "offers port 587"),
        ("custom-trap", "a trap"),
    ]


def test_login_rule() -> None:
    assert login_warning("gmail", "jdoe@gmail.com") is None
    assert login_warning("gmail", None) is None
    assert login_warning("gmail", "{{ user.code | lower }}") is None  # checked once rendered
    assert login_warning("office365", "jdoe") == (
        "login-not-address", "Microsoft 365 (Exchange Online) signs in with the full e-mail "
                             "address (name@domain); 'jdoe' is not one")
    assert login_warning("google_relay", "jdoe") == (
        "login-not-address", "Google Workspace SMTP relay takes either no login (relay by IP "
                             "address) or a Workspace user's full e-mail address; 'jdoe' is "
                             "neither")
