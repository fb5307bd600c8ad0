"""Fixtures shared by every test folder: the real stack, throwaway databases, fresh topics."""

pytest_plugins = ["arshield_cli.testing"]
