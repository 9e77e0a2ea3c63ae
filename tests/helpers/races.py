"""Races for tests that prove a money operation happens once: threads released together, each on
its own database connection (PostgreSQL, ``django_db(transaction=True)``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext

from django.db import connection

from core.tenancy import guild_scope
from earnings.services import MoneyRefused


def race(
    call: Callable[[int], object], *, guild_id: int | None = None, threads: int = 4, results: bool = False
) -> list:
    """Run ``call(n)`` for each n in range(threads), all released at once, inside the guild's scope
    when ``guild_id`` is given; each thread closes its connection. One outcome per thread, in no
    order: "ok" (or, with ``results``, what ``call`` returned), or the MoneyRefused's code."""
    barrier = threading.Barrier(threads)
    outcomes: list = []

    def worker(n: int) -> None:
        try:
            barrier.wait()
            with guild_scope(guild_id) if guild_id is not None else nullcontext():
                value = call(n)
            outcomes.append(value if results else "ok")
        except MoneyRefused as refused:
            outcomes.append(refused.code)
        finally:
            connection.close()

    started = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return outcomes
