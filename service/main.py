"""The ASGI application that ``pinwatch serve`` and uvicorn load."""

import gc

from service.app import create_app

app = create_app()

# Objects made while importing and building the app live as long as the
# process. Freezing them takes them out of every later garbage collection,
# which made ingest requests use about a quarter less CPU (see
# docs/benchmarks.md).
gc.collect()
gc.freeze()
