from arshield_insurance_claims.adapters.tables import metadata
from arshield_runtime.migrations import run_env

run_env(metadata)
