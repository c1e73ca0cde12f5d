from .stats import cpu_usage, memory_usage
