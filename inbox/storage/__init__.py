"""The database: engine, tables, migrations, the write gate and the repository (every SQL statement of the service,
in storage.repo)."""
