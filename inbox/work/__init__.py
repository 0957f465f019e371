"""People's work on queue items: claims, status changes, transfers, auto-assignment, SLA sweeps, crises,
notifications, metrics and routing explanations."""
