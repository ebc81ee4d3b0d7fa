"""Builds a service's FastAPI app the same way for every service: middleware, error handlers,
idempotent-replay handler, the webhook endpoints API, health, readiness and metrics, lifespan of
the runtime."""

from __future__ import annotations

import asyncio
import gc
from contextlib import asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable, Iterable, Literal

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from shared.web.errors import install_error_handlers
from shared.web.idempotency import IdempotentReplay, replay_response
from shared.middleware import EdgeMiddleware
from shared.openapi import install as install_openapi
from shared.runtime import Runtime
from shared.webhook_endpoints.api import build_router as webhook_endpoints_router
from shared.tasks import cancel_and_wait

ReadinessCheck = Callable[[Runtime], Awaitable[None]]
BackgroundJob = Callable[[], Awaitable[None]]  # runs for the app's lifetime; cancelled at shutdown


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    detail: str | None = Field(default=None, description="Why not, when unavailable.")


def _ops_router(runtime: Runtime, checks: Iterable[ReadinessCheck]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", operation_id="getHealth",
                summary="Liveness: the process is serving", include_in_schema=True)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", operation_id="getReadiness", response_model=Readiness,
                summary="Readiness: the database answers and the service is prepared",
                responses={503: {"model": Readiness, "description": "Not ready; `detail` says why."}})
    async def readyz() -> JSONResponse:
        try:
            await runtime.db.ping()
            for check in checks:
                await check(runtime)
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return JSONResponse({"status": "unavailable", "detail": str(exc)[:300]}, status_code=503)
        return JSONResponse({"status": "ok"})

    @router.get("/metrics", operation_id="getMetrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        try:
            await runtime.refresh_gauges()
        except Exception:  # noqa: BLE001 - metrics must not fail because the database is down
            pass
        return Response(generate_latest(runtime.registry), media_type=CONTENT_TYPE_LATEST)

    return router


def create_service_app(runtime: Runtime, *, title: str, description: str, version: str,
                       routers: Iterable[APIRouter], readiness: Iterable[ReadinessCheck] = (),
                       background: Iterable[BackgroundJob] = (),
                       on_shutdown: Iterable[Callable[[], Awaitable[None]]] = (),
                       openapi_tags: list[dict[str, str]] | None = None) -> FastAPI:
    jobs, closers = list(background), list(on_shutdown)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        tasks = [asyncio.create_task(job(), name=getattr(job, "__name__", "job")) for job in jobs]
        # Everything imported and built so far lives as long as the process: move it out of the
        # collector's reach, so that full collections stay short under load (no latency spikes).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await cancel_and_wait(tasks)
            for close in closers:
                await close()
            await runtime.stop()

    # `servers`: the configured public URL; without one, none, so that /docs calls the address it
    # was loaded from (behind any proxy). The committed contracts name the dev address (openapi_docs).
    public_url = runtime.settings.public_url
    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan,
                  openapi_tags=openapi_tags, servers=[{"url": public_url}] if public_url else None,
                  swagger_ui_parameters={"persistAuthorization": True})  # /docs: Authorize once, keep the token
    install_openapi(app)
    app.state.runtime = runtime
    app.state.authenticator = runtime.authenticator
    install_error_handlers(app)

    @app.exception_handler(IdempotentReplay)
    async def _replay(request: Request, exc: IdempotentReplay) -> JSONResponse:
        return replay_response(exc)

    for router in routers:
        app.include_router(router)
    app.include_router(webhook_endpoints_router())  # every service sends its own events (runtime.py)
    app.include_router(_ops_router(runtime, list(readiness)))
    app.add_middleware(EdgeMiddleware, max_bytes=runtime.settings.max_body_bytes, registry=runtime.registry,
                       service=runtime.settings.service_name)
    return app
