"""Stand-ins for the hosts that run the app in Azure, for tests and benchmarks only.

Not part of the installed product: pyproject's `[tool.setuptools] packages` does not list this package and
`.funcignore` leaves it out of the deployment, so nothing the app or the runner ships may import it.
"""
