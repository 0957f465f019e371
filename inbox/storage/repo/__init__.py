"""The repository layer: every SQL statement of the service lives in this package. Functions take
the connection as the keyword argument ``conn`` and return domain objects or plain values."""
