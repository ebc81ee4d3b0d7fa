"""The reader's machine for tests/docs: the platform started as `make run` starts it, on the default
ports, in a fresh checkout; stopped, with everything the documents' commands left running, at the end,
whatever happened. A report of every block, run or not and why, goes to test-artifacts/doc-commands.txt
and the end of the test output."""

from __future__ import annotations

import os
import shutil
from typing import Any, Iterator

import pytest

pytest.register_assert_rewrite("tests.docs.expectations")  # its checks explain themselves when they fail

from tests.docs.machine import Machine, reader_environment, taken_ports  # noqa: E402
from tests.docs.report import REPORT_FILE, RESULTS, report  # noqa: E402

TOOLS = ("bash", "curl", "python3")  # what the documents' commands call besides .venv/bin/…


def _required() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    path = reader_environment()["PATH"]
    missing = [tool for tool in TOOLS if shutil.which(tool, path=path) is None]
    if missing:
        message = f"the documents' commands need {', '.join(missing)} on the PATH"
        if _required():
            pytest.fail(message + " (required under CI=true)", pytrace=False)
        pytest.skip(message)
    taken = taken_ports()
    if taken:
        pytest.fail("the documents' commands use the platform's default ports, and these are taken: "
                    f"{', '.join(taken)}. Stop what holds them (another `make run`?) and run again.", pytrace=False)
    world = Machine(tmp_path_factory.mktemp("reader"))
    try:
        try:
            seconds = world.start()
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
        RESULTS["platform"] = f"{seconds:6.1f} s  supportctl up in a fresh checkout, as make run starts it"
        yield world
    finally:
        world.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if RESULTS:
        REPORT_FILE.parent.mkdir(exist_ok=True)
        REPORT_FILE.write_text("documented commands, in the reader's order\n\n" + "\n".join(report()) + "\n")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if RESULTS:
        terminalreporter.write_sep("-", "documented commands (test-artifacts/doc-commands.txt)")
        terminalreporter.write("\n".join(report()) + "\n")
