"""`python -m arshield_dunning serve | rebuild | keys create`."""

from arshield_dunning.bootstrap import bootstrap
from arshield_runtime.cli import service_cli

app = service_cli(bootstrap)

if __name__ == "__main__":
    app()
