"""Check many users at once: a bounded pool of threads, progress as each one ends.

SMTP checks spend their time waiting on the network, so threads are enough;
the bound keeps a large onboarding from opening hundreds of connections to
one server (which rate-limits or blocks them). One TLS context is shared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from email.message import EmailMessage

from mailprov.smtp.report import SendReport
from mailprov.smtp.session import DEFAULT_TIMEOUT, check_smtp
from mailprov.smtp.settings import SmtpSettings, TlsMode
from mailprov.smtp.tls import tls_context

DEFAULT_PARALLEL = 4
MAX_PARALLEL = 32

Progress = Callable[[int, int, SendReport], None]


@dataclass(frozen=True, slots=True)
class CheckRequest:
    """One check of a batch: the arguments of `check_smtp` that differ per user.

    The password is left out of the repr so that a logged request shows no secret.
    """

    settings: SmtpSettings
    password: str | None = field(default=None, repr=False)
    to: str | None = None
    tls: TlsMode | None = None
    check_only: bool = False
    message: EmailMessage | None = field(default=None, repr=False)


def check_many(requests: Sequence[CheckRequest], *, parallel: int = DEFAULT_PARALLEL,
               cafile: str | None = None, timeout: float = DEFAULT_TIMEOUT,
               target: str | None = None, debug: bool = False,
               progress: Progress | None = None) -> list[SendReport]:
    """Run the checks, at most `parallel` at a time; reports in the order of `requests`.

    `progress(done, total, report)` is called in the calling thread each time a
    check ends (in the order they end), so it can draw a progress bar.
    """
    if not 1 <= parallel <= MAX_PARALLEL:
        raise ValueError(f"parallel must be between 1 and {MAX_PARALLEL}, not {parallel}")
    for request in requests:
        if not request.check_only and not request.to:
            raise ValueError("a recipient (to) is needed unless check_only is set")
    context = tls_context(cafile)
    reports: list[SendReport | None] = [None] * len(requests)
    pool = ThreadPoolExecutor(max_workers=min(parallel, max(len(requests), 1)),
                              thread_name_prefix="mailprov-smtp")
    try:
        futures = {
            pool.submit(check_smtp, r.settings, password=r.password, to=r.to, tls=r.tls,
                        check_only=r.check_only, timeout=timeout, message=r.message,
                        target=target, debug=debug, context=context): index
            for index, r in enumerate(requests)
        }
        for done, future in enumerate(as_completed(futures), start=1):
            report = future.result()
            reports[futures[future]] = report
            if progress is not None:
                progress(done, len(requests), report)
    finally:
        # on Ctrl-C or an error, start no further check; the running ones end by timeout
        pool.shutdown(wait=True, cancel_futures=True)
    return [report for report in reports if report is not None]
