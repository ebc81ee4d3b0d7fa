"""What both example clients need: the platform's error body as an exception, a development
token from `supportctl token`, and an httpx client with the bearer header. Kept beside them so each
example stays runnable as `python examples/<name>.py` with nothing but httpx installed."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx


# ---- errors --------------------------------------------------------------------------------------

class ApiError(Exception):
    """A refusal from the platform. Every error body is `{"error": code, "detail": message}`;
    validation errors add `fields` (shared/errors.py)."""

    def __init__(self, status: int, code: str, detail: str, fields: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status, self.code, self.detail, self.fields = status, code, detail, fields or []

    def __str__(self) -> str:
        lines = [f"HTTP {self.status} {self.code}: {self.detail}"]
        lines += [f"  {f.get('field')}: {f.get('message')}" for f in self.fields
                  if f"{f.get('field')}: {f.get('message')}" not in self.detail]  # validation: one line per field
        return "\n".join(lines)


def checked(response: httpx.Response) -> httpx.Response:
    """The response when it is a success, else the platform's error as an `ApiError`."""
    if response.is_success:
        return response
    try:
        body = response.json()
        code, detail, fields = body["error"], body.get("detail", ""), body.get("fields")
    except (ValueError, KeyError, TypeError):
        code, detail, fields = f"http_{response.status_code}", response.text[:300], None
    raise ApiError(response.status_code, code, detail, fields)


def error_code(response: httpx.Response) -> str | None:
    """The stable `error` code of an error body, if the body is one."""
    try:
        return response.json().get("error")
    except ValueError:
        return None


def post_idempotent(api: httpx.Client, path: str, body: dict[str, Any], key: str, *, attempts: int = 5,
                    backoff: float = 0.5) -> tuple[httpx.Response, int]:
    """A POST that creates something, retried under the SAME Idempotency-Key after a transport
    error, a 5xx or a 409 `idempotency_key_in_progress` (the first attempt is still running), so a
    retry can never create a second object. Anything else (4xx) is the answer: fix the request and
    use a NEW key. Returns the successful response and the attempt it took; raises `ApiError`."""
    for attempt in range(1, attempts + 1):
        try:
            response = api.post(path, json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError:
            if attempt == attempts:
                raise
        else:
            in_progress = response.status_code == 409 and error_code(response) == "idempotency_key_in_progress"
            if not (response.status_code >= 500 or in_progress) or attempt == attempts:
                return checked(response), attempt
        time.sleep(backoff * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


# ---- connection ----------------------------------------------------------------------------------

def dev_token(role: str) -> str:
    """A development token from the repository's `supportctl token --role ROLE`, run in this
    process's working directory, as if typed there: it signs with the key of the platform whose
    data folder it finds from here (`$SUPPORT_DATA_DIR`, else the nearest `var/` upwards)."""
    repo = Path(__file__).resolve().parents[1]
    exe = repo / ".venv" / "bin" / "supportctl"
    command = str(exe) if exe.exists() else shutil.which("supportctl")
    if command is None:
        raise SystemExit(f"no token: pass --token, set the environment variable, or run `make run` first "
                         f"(then: supportctl token --role {role})")
    done = subprocess.run([command, "token", "--role", role], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise SystemExit(f"supportctl token --role {role} failed:\n{done.stderr}")
    return done.stdout.strip()


def client(base_url: str, token: str, timeout: float = 10.0) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=timeout, headers={"authorization": f"Bearer {token}"})
