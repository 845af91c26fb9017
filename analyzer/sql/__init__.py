"""SQL kept as SQL: the store schema and the aggregate queries, read with importlib.resources."""
