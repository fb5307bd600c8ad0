"""arshield's public event language (no I/O here)."""
