"""`python -m arshield_risk_monitor serve | rebuild | keys create`."""

from arshield_risk_monitor.bootstrap import bootstrap
from arshield_runtime.cli import service_cli

app = service_cli(bootstrap)

if __name__ == "__main__":
    app()
