"""arshield command line (`arshield ...`)."""
