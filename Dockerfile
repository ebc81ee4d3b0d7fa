# syntax=docker/dockerfile:1
# One image for the whole platform: entitlements, tickets, billing and the
# `supportctl` CLI. Kubernetes picks the service with `supportctl serve <name>`
# (see k8s/); the default below serves entitlements.
#
#   docker build -t support-platform:latest .
#   docker run --rm -p 8001:8001 -e ENTITLEMENTS_HOST=0.0.0.0 support-platform:latest

# --- build: install the project and its dependencies into a venv -------------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# pyproject.toml names README.md as the package's readme, so both are needed.
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
# A regular (non-editable) install: the packages, their data files (alembic
# migrations, YAML/JSON catalogues) and the `supportctl` console script all
# land in /opt/venv; the sources in /src are not copied to the runtime image.
RUN pip install .

# --- runtime -------------------------------------------------------------------
FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# Fixed IDs: the Kubernetes manifests run as 10001:10001 with runAsNonRoot.
RUN groupadd --system --gid 10001 support \
 && useradd --system --uid 10001 --gid support --home-dir /home/support --create-home \
        --shell /usr/sbin/nologin support

COPY --from=build /opt/venv /opt/venv

# Nothing is written here at run time in Kubernetes (read-only root
# filesystem; /tmp is an emptyDir); a local `docker run` may use ./var.
WORKDIR /home/support
USER 10001:10001

# entitlements, tickets, billing HTTP APIs; the tickets SMTP listener.
EXPOSE 8001 8002 8003 2525

CMD ["supportctl", "serve", "entitlements"]
