"""The activities' triggers, on a blueprint for the function app."""

import azure.durable_functions as df

from activities import ACTIVITIES

bp = df.Blueprint()
for _activity in ACTIVITIES.values():
    bp.activity_trigger(input_name="payload")(_activity)
