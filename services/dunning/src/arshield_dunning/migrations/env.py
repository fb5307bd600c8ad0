from arshield_runtime.migrations import run_env

from arshield_dunning.adapters.tables import metadata

run_env(metadata)
