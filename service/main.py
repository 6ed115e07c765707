"""The ASGI application that ``pinwatch serve`` and uvicorn load."""

from service.app import create_app

app = create_app()
