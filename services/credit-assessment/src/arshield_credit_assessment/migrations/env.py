from arshield_credit_assessment.adapters.tables import metadata
from arshield_runtime.migrations import run_env

run_env(metadata)
