from arshield_runtime.migrations import run_env

from arshield_ledger.adapters.tables import metadata

run_env(metadata)
