"""The Azure Functions app: blueprints only, so indexing and cold start stay cheap (no model, no torch at import)."""

import azure.durable_functions as df
import azure.functions as func

from activities.blueprint import bp as activities
from orchestrators import bp as orchestrators
from triggers import bp as triggers
from triggers.housekeeping import bp as housekeeping

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(orchestrators)
app.register_functions(activities)
app.register_functions(triggers)
app.register_functions(housekeeping)
