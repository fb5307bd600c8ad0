"""arshield ledger: the event-sourced receivables sub-ledger."""
