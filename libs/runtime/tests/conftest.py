pytest_plugins = ["arshield_runtime.testing"]
