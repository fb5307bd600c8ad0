from arshield_runtime.migrations import run_env

run_env()
