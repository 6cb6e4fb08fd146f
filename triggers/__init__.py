"""The app's Azure entry points besides the orchestrations: the blob trigger, the HTTP API (analyses and batches), the
batch's two activities that hold a durable client, and housekeeping. Each module registers its functions on its own
blueprint (`bp`), which `function_app` registers."""
