"""A state replaced in part is what pydantic's copy with an update gives, still frozen."""

from __future__ import annotations

from datetime import date

import pydantic
import pytest

from arshield_insurance_claims.domain.state import BuyerInsurance, StopSupply, replaced

from .harness import D, invoice

pytestmark = pytest.mark.unit


def test_a_replaced_state_is_the_copy_with_the_update() -> None:
    state = BuyerInsurance(
        tenant_id="t1", buyer_id="B1", invoices={"A": invoice("A", "100.00", due_on=D)}
    )
    stop = StopSupply(required_on=date(2025, 5, 30), reason="insolvency")
    changes = {"stop_supply": stop, "handed_over_on": date(2025, 6, 2)}
    ours, theirs = replaced(state, changes), state.model_copy(update=changes)
    assert ours == theirs
    assert ours.model_dump_json() == theirs.model_dump_json()
    assert ours.model_fields_set == theirs.model_fields_set
    assert ours.stop_supply is stop
    assert ours.invoices is state.invoices
    assert state.stop_supply is None  # the state replaced is left as it was
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        ours.buyer_id = "B2"
