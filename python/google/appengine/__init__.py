"""App Engine's Python API as gaelic provides it."""
