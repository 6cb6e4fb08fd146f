"""The local entry point: the command line and a durable host that runs the app's orchestrator in a process pool."""
