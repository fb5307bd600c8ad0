"""One retry policy for everything that waits out an outage of the platform's own parts (database,
broker): exponential backoff with jitter, no attempt limit, a capped wait. A partner's endpoint is
another matter (the webhook dispatcher keeps its own schedule, as Standard Webhooks expects).

Built on `stamina` (tenacity underneath), which also logs each retry and counts it in the
`stamina_retries_total` Prometheus metric. Tests may call `stamina.set_testing(True)` to make waits
instant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import stamina

T = TypeVar("T")
WAIT_INITIAL = 0.1
WAIT_MAX = 10.0


async def until_it_works(
    work: Callable[[], Awaitable[T]], *, on: type[Exception] | Callable[[Exception], bool]
) -> T:
    """Await `work()` again and again while it fails with an error `on` matches; other errors (and
    cancellation) propagate at once."""
    async for attempt in stamina.retry_context(
        on=on,
        attempts=None,
        timeout=None,
        wait_initial=WAIT_INITIAL,
        wait_max=WAIT_MAX,
        wait_jitter=WAIT_INITIAL,
    ):
        with attempt:
            return await work()
    raise AssertionError("unreachable: the retry context only ends by returning or raising")
