"""`python -m services.paysandbox [--host 127.0.0.1] [--port 8090]`: the sandbox as its own process,
configured from `PAYSANDBOX_*` environment variables (see `app.SandboxSettings`)."""

from __future__ import annotations

import argparse

import uvicorn

from services.paysandbox.app import SandboxSettings, create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.paysandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()
    uvicorn.run(create_app(SandboxSettings()), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
