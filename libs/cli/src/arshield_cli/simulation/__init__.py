"""A portfolio simulator with known defaults, the risk signals computed offline, and backtests."""
