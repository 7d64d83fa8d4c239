"""What a test waits on instead of sleeping: Celery's own signals, counted.

`TaskLedger` counts every task message published (`after_task_publish`, in the publishing
thread) and every task a worker has finished with, whatever the outcome: success, failure,
retry (`task_postrun`) or revoked/expired (`task_revoked`). A task that publishes more work
(a retry, a follow-up push) does so before it finishes, so the moment every published
message has been finished with, nothing more can arrive from the tasks: "nothing more comes"
is that condition, not a sleep long enough on a fast machine.
"""

import threading
import time
from collections import Counter

from celery import signals


class TaskLedger:
    def __init__(self):
        self._lock = threading.Lock()
        self._published = Counter()
        self._finished = Counter()

    def _on_publish(self, sender=None, **kwargs):
        with self._lock:
            self._published[sender] += 1

    def _on_finish(self, sender=None, **kwargs):
        with self._lock:
            self._finished[sender.name] += 1

    def __enter__(self):
        signals.after_task_publish.connect(self._on_publish, weak=False)
        signals.task_postrun.connect(self._on_finish, weak=False)
        signals.task_revoked.connect(self._on_finish, weak=False)
        return self

    def __exit__(self, *exc_info):
        signals.after_task_publish.disconnect(self._on_publish)
        signals.task_postrun.disconnect(self._on_finish)
        signals.task_revoked.disconnect(self._on_finish)

    def published(self, name) -> int:
        with self._lock:
            return self._published[name]

    def finished(self, name) -> int:
        with self._lock:
            return self._finished[name]

    def idle(self) -> bool:
        """Every task message published so far has been run (or revoked) by the worker."""
        with self._lock:
            return all(self._finished[name] >= count for name, count in self._published.items())

    def wait_idle(self, timeout=30.0) -> bool:
        """Wait until `idle()`; True if it was reached within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not self.idle():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def __repr__(self):
        with self._lock:
            return f"TaskLedger(published={dict(self._published)}, finished={dict(self._finished)})"
