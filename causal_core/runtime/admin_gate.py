"""The instructor password: constant-time check, attempts rate-limited per session and for the whole process.

In class mode (``endpoint_policy.class_mode``) the actions that change what everybody shares or what the
server's process runs - load or unload a model, trust remote code, add an endpoint or folder, a large Model
lab run - ask for ``CW_INSTRUCTOR_PASSWORD``. Thirty students can guess, so failures are counted: after
``MAX_FAILURES`` failures a session (and, separately, the whole process) is locked for ``LOCK_S`` seconds, and
each further lock doubles. The global counter stops a student who opens many sessions; its cost is that a
class that keeps guessing locks the instructor out for a minute too, which is the safer failure.

The typed password is never logged, stored in ``st.session_state`` beyond its widget, or written anywhere.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from causal_core.runtime.endpoint_policy import INSTRUCTOR_ENV, class_mode

MAX_FAILURES = 5
LOCK_S = 60.0
MAX_LOCK_S = 3600.0
GLOBAL_KEY = "<all sessions>"


@dataclass
class _Counter:
    failures: int = 0
    locks: int = 0
    locked_until: float = 0.0


class PasswordGate:
    """Thread-safe failure counters (one per session id, one for the process); ``clock`` is injectable for tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counters: dict[str, _Counter] = {}

    def seconds_locked(self, session_id: str) -> float:
        """How long this session (or the whole process) must still wait; 0 when it may try."""
        now = self._clock()
        with self._lock:
            waits = [self._counters[key].locked_until - now for key in (session_id, GLOBAL_KEY)
                     if key in self._counters]
        return max([0.0, *waits])

    def check(self, session_id: str, typed: str, configured: str) -> tuple[bool, str]:
        """(accepted, message). A locked session is refused without comparing, so guessing gains nothing."""
        wait = self.seconds_locked(session_id)
        if wait > 0:
            return False, (f"Too many wrong instructor passwords: try again in {int(wait) + 1} s. "
                           "Nothing was changed.")
        if not configured:
            return False, (f"This server runs in class mode without an instructor password ({INSTRUCTOR_ENV} is "
                           "not set), so instructor actions are disabled. Nothing was changed.")
        if not typed:
            return False, "This is an instructor action: enter the instructor password. Nothing was changed."
        if hmac.compare_digest(typed.encode(), configured.encode()):
            with self._lock:
                self._counters.pop(session_id, None)
            return True, ""
        self.record_failure(session_id)
        return False, "Wrong instructor password. Nothing was changed."

    def record_failure(self, session_id: str) -> None:
        """One wrong password, counted for this session and for the whole process."""
        self._fail(session_id)
        self._fail(GLOBAL_KEY)

    def _fail(self, key: str) -> None:
        with self._lock:
            counter = self._counters.setdefault(key, _Counter())
            counter.failures += 1
            if counter.failures >= MAX_FAILURES:
                counter.locked_until = self._clock() + min(LOCK_S * 2 ** counter.locks, MAX_LOCK_S)
                counter.locks += 1
                counter.failures = 0


GATE = PasswordGate()


def instructor_password() -> str:
    return os.environ.get(INSTRUCTOR_ENV, "")


def admin_allowed(session_id: str, typed: str, gate: PasswordGate | None = None) -> tuple[bool, str]:
    """(allowed, message) for an instructor action: always allowed outside class mode."""
    if not class_mode():
        return True, ""
    return (gate or GATE).check(session_id, typed, instructor_password())
