# syntax=docker/dockerfile:1
# Pinwatch server image. Build from the repository root:
#   docker build -t pinwatch .
# Run one server process per container; scale with more containers:
#   docker run -e PINWATCH_DATABASE_URL=postgresql://... -e PINWATCH_SECRET=... pinwatch
# Apply migrations once per release with the same image:
#   docker run ... pinwatch pinwatch migrate

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app

# uv itself is pinned with hashes, like the Makefile does.
COPY requirements/uv.txt requirements/uv.txt
RUN python -m pip install --no-cache-dir --require-hashes -r requirements/uv.txt

# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project --no-cache

# The project is installed in editable mode because `pinwatch migrate` reads
# the migrations folder next to the service package.
COPY service service
COPY migrations migrations
COPY alembic.ini ./
RUN uv sync --frozen --no-dev --no-cache


FROM ${PYTHON_IMAGE} AS runtime

RUN groupadd --system --gid 10001 pinwatch \
    && useradd --system --uid 10001 --gid pinwatch --home-dir /app \
        --no-create-home --shell /usr/sbin/nologin pinwatch

WORKDIR /app

# Same path as in the builder: the virtual environment refers to /app.
COPY --from=builder /app /app
# Writable only for the SQLite default; use PostgreSQL for more than one replica.
RUN mkdir -p /app/var && chown pinwatch:pinwatch /app/var

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PINWATCH_ENV=production

USER 10001:10001

EXPOSE 8000

# The slim image has no curl, so the probe uses Python's standard library.
# urlopen raises on any status other than 2xx, which exits non-zero.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# PINWATCH_DATABASE_URL and PINWATCH_SECRET come from the environment at run time.
CMD ["pinwatch", "serve", "--host", "0.0.0.0", "--port", "8000"]
