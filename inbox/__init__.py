"""social-inbox: the service (domain, storage, ingest pipeline, router, queues, web, CLI)."""

__version__ = "0.1.0"
