"""Running the service: the resource container, the scheduler and its jobs, model lifecycle, logging, the demo."""
