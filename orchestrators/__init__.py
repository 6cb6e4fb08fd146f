"""The orchestrator functions; each module registers its own on its blueprint (`bp`), which `function_app` registers.

Nothing is imported here: `orchestrators.retry` is also the local runner's, whose worker processes must not pay for
the durable SDK's import.
"""
