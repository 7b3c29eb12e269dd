"""Test how maestro* would send: one SMTP session, step by step, with advice on failure.

The package is imported only by `mailprov test-send`, never at start-up, and its
modules import nothing heavy at module level except `session` and `client`
(smtplib, ssl), so the CLI should import them inside the command:

- `settings`: `SmtpSettings` (what maestro* has for a user) and the TLS modes.
- `session`: `check_smtp()`, one session, returns a `SendReport`.
- `batch`: `check_many()`, many sessions in threads, results in input order.
- `message`: `build_test_message()`, the bilingual test message.
- `advice`: `diagnose()`, from what failed to what to do about it.
- `report`: the frozen report types and their JSON form.
- `text`: `format_report()`, the report as lines for a terminal.
"""
