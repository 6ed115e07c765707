"""The ceiling: a FastAPI app with one POST endpoint that reads the body.

It does what every ingest request needs at least (routing, reading the body,
a 202 response) and nothing else, so the ratio of an ingest case to it shows
what Pinwatch itself costs on top of the framework and the server.
"""

from fastapi import FastAPI, Request, Response

app = FastAPI()


@app.post("/v1/events", status_code=202)
async def post_events(request: Request) -> Response:
    await request.body()
    return Response(status_code=202)
