"""arshield dunning service."""
