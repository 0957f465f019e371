"""Pure rules any layer may use: the router, the SLA calendar, near-duplicate keys, credentials, clocks and value
types. No I/O."""
