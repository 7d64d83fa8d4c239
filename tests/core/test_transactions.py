"""A deadlock's victim runs once more, on real PostgreSQL: two transactions lock two rows in
opposite orders, PostgreSQL aborts one, and both end up done."""

import threading

import pytest
from django.db import connection

from core.factories import ChannelFactory
from core.models import Channel
from core.services.transactions import atomic_retrying_a_deadlock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_victim_of_a_deadlock_runs_once_more_and_both_finish():
    first, second = ChannelFactory(code="first"), ChannelFactory(code="second")
    both_hold_one = threading.Barrier(2, timeout=30)
    runs = {"forward": 0, "backward": 0}
    outcomes = {}

    def lock_in_turn(name, codes):
        runs[name] += 1
        Channel.objects.select_for_update().get(code=codes[0])
        if runs[name] == 1:
            both_hold_one.wait()
        Channel.objects.select_for_update().get(code=codes[1])
        Channel.objects.filter(code=codes[1]).update(name=f"last locked by {name}")
        return "done"

    def run(name, codes):
        try:
            outcomes[name] = atomic_retrying_a_deadlock(lambda: lock_in_turn(name, codes))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("forward", [first.code, second.code])),
        threading.Thread(target=run, args=("backward", [second.code, first.code])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == {"forward": "done", "backward": "done"}
    assert sorted(runs.values()) == [1, 2]  # exactly one was the victim, and ran again
