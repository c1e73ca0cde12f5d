"""Imported once per instance (RT4): counts executions of uncached.py and
keeps the code objects they ran."""
n = 0
codes = []
