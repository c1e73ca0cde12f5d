"""Imported once per instance (RT4): counts executions of uncached.py."""
n = 0
