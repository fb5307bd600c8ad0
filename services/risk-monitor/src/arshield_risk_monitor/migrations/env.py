from arshield_risk_monitor.adapters.tables import metadata
from arshield_runtime.migrations import run_env

run_env(metadata)
