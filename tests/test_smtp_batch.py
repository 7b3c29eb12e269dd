"""check_many: twenty users at once against a real server, one of them broken."""

from __future__ import annotations

import threading
import time

import pytest
from smtpserver import ACCOUNTS, NAME, SmtpLab

from mailprov.smtp.batch import CheckRequest, check_many
from mailprov.smtp.report import SendReport
from mailprov.smtp.settings import SmtpSettings

BROKEN = 7


def request(lab: SmtpLab, index: int) -> CheckRequest:
    login = f"user{index:02d}@example.test"
    settings = SmtpSettings(NAME, lab.starttls.port, True, login, login,
                            user_code=f"USER{index:02d}", user_name=f"User {index}")
    password = "wrong-password" if index == BROKEN else ACCOUNTS[login]
    return CheckRequest(settings, password=password, to="it@example.test")


def test_twenty_checks_in_input_order_with_progress(smtp_lab: SmtpLab) -> None:
    requests = [request(smtp_lab, index) for index in range(20)]
    seen: list[tuple[int, int, str]] = []
    workers: set[str] = set()

    def progress(done: int, total: int, report: SendReport) -> None:
        assert threading.current_thread() is threading.main_thread()
        seen.append((done, total, report.user_code))
        workers.update(t.name for t in threading.enumerate()
                       if t.name.startswith("mailprov-smtp"))

    started = time.perf_counter()
    reports = check_many(requests, cafile=smtp_lab.cafile, progress=progress)
    elapsed = time.perf_counter() - started

    assert [r.user_code for r in reports] == [f"USER{i:02d}" for i in range(20)]
    assert [r.ok for r in reports] == [i != BROKEN for i in range(20)]
    broken = reports[BROKEN].failure
    assert broken is not None and (broken.reason, broken.code) == ("bad-credentials", 535)
    assert [done for done, _total, _code in seen] == list(range(1, 21))
    assert {total for _done, total, _code in seen} == {20}
    assert sorted(code for _d, _t, code in seen) == sorted(r.user_code for r in reports)
    assert 1 <= len(workers) <= 4  # parallel defaults to 4
    for index, report in enumerate(reports):
        received = smtp_lab.starttls.mailbox.by_message_id(report.message_id)
        assert len(received) == (0 if index == BROKEN else 1)
    assert elapsed < 5


def test_parallel_is_bounded() -> None:
    with pytest.raises(ValueError, match="parallel must be between 1 and 32, not 0"):
        check_many([], parallel=0)


def test_a_request_never_shows_its_password() -> None:
    settings = SmtpSettings("s", 587, True, "u@example.test", "u@example.test")
    assert "hunter2-secret" not in repr(CheckRequest(settings, password="hunter2-secret"))


def test_missing_recipient_is_refused_before_anything_runs() -> None:
    settings = SmtpSettings("nohost.invalid", 587, True, None, "a@example.test")
    with pytest.raises(ValueError, match="a recipient"):
        check_many([CheckRequest(settings, check_only=True), CheckRequest(settings)])
