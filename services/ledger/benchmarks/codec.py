"""The kernel's state codec (`TypeAdapter(BuyerLedger)`) on a realistic account, timed.

`uv run python services/ledger/benchmarks/codec.py`: a buyer with 200 invoices (a third paid, a
third part paid, some with instalments, a dispute, cash on account), encoded and decoded as the
kernel does for every decision (JSON text in `buyer_states.state`).
"""

from __future__ import annotations

import sys
import timeit
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from ledger.unit.factories import LedgerDriver, dispute, invoice, payment

from arshield_ledger.application.wiring import STATE


def account() -> LedgerDriver:
    acc = LedgerDriver()
    start = date(2025, 1, 1)
    for n in range(200):
        issued = start + timedelta(days=n)
        parts: tuple[tuple[int, date, int], ...] = ()
        if n % 5 == 0:
            parts = ((1, issued + timedelta(days=30), 600), (2, issued + timedelta(days=60), 400))
        acc.issue(invoice(f"i{n}", 1000, issued + timedelta(days=60), issued, instalments=parts))
        if n % 3 == 0:
            acc.receive_payment(
                payment(f"p{n}", 1000, issued + timedelta(days=40), allocations=((f"i{n}", 1000),))
            )
        elif n % 3 == 1:
            acc.receive_payment(
                payment(f"q{n}", 250, issued + timedelta(days=70), allocations=((f"i{n}", 250),))
            )
    acc.raise_dispute(dispute("d1", "i2", 100, date(2025, 3, 1)))
    acc.receive_payment(payment("extra", 5000, date(2025, 9, 1)))
    return acc


def main() -> None:
    state = account().state
    text = STATE.dump_json(state)
    runs = 200
    dump = timeit.timeit(lambda: STATE.dump_json(state), number=runs) / runs
    load = timeit.timeit(lambda: STATE.validate_json(text), number=runs) / runs
    print(f"{len(state.invoices)} invoices, {len(text)} bytes of JSON")
    print(f"TypeAdapter: dump {dump * 1e3:.2f} ms, load {load * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
