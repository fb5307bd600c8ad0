"""uvicorn as the services run it: HTTP/1.1 with a deadline for each request's head.

uvicorn closes idle keep-alive connections, and the app's `BodyGuard` times out a body that
trickles, but nothing bounds the time a client may take to send its request line and headers: a
client trickling one header byte at a time would hold its connection for ever. `head_deadline`
gives every request head (the first on a connection, and each next one once the previous response
is complete) a fixed time to arrive, after which the connection is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class _HeadDeadlineH11(H11Protocol):
    head_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._arm_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        waiting_after = self.cycle  # a new request head replaces the cycle
        self._head_timer = self.loop.call_later(
            self.head_timeout, self._head_deadline_passed, waiting_after
        )

    def _head_deadline_passed(self, waiting_after: Any) -> None:
        self._head_timer = None
        if self.cycle is waiting_after and not self.transport.is_closing():
            self.transport.close()


def head_deadline(seconds: float) -> type[H11Protocol]:
    """An HTTP/1.1 protocol class for `uvicorn.Config(http=...)` whose request heads must arrive
    within `seconds`."""
    return type("HeadDeadlineH11", (_HeadDeadlineH11,), {"head_timeout": seconds})
