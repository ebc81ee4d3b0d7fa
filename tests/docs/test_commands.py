"""Every command the README, the guides and the examples' docstrings give works when pasted in the
order a reader meets it, on a fresh `make run`, and does what the text around it says.

Each document's blocks run in one bash session of their own (variables and the working directory
carry over from block to block, as in one terminal; `set -e`, so a failing command stops its block),
in a fresh checkout where the platform was started exactly as `make run` starts it. Each block's
outcome is checked against its claim (tests/docs/expectations.py). Blocks not meant for a development
machine carry `<!-- not-run: reason -->`; the reasons are listed at the end of the run and in
test-artifacts/doc-commands.txt.
"""

from __future__ import annotations

import re

import pytest

from tests.docs.blocks import (
    NOT_SHELL, READING_ORDER, REPO, SHELL, Block, DocumentError, docstring_blocks, documented_files,
    markdown_blocks, reading_order,
)
from tests.docs.expectations import EXPECTATIONS, expectations_for
from tests.docs.machine import BLOCK_TIMEOUT, Machine
from tests.docs.report import RESULTS


def _collect() -> tuple[list[Block], str | None]:
    try:
        return reading_order(), None
    except DocumentError as exc:
        return [], str(exc)


ALL_BLOCKS, UNREADABLE = _collect()
RUNNING = [block for block in ALL_BLOCKS if block.runs]


# ---- the documents are complete about what runs and what does not ------------------------------------

def test_the_documents_can_be_read():
    assert UNREADABLE is None, UNREADABLE


def test_every_document_and_example_has_its_place_in_the_reading_order():
    unplaced = sorted(set(documented_files()) - set(READING_ORDER))
    assert unplaced == [], "add them to READING_ORDER in tests/docs/blocks.py"
    assert [s for s in READING_ORDER if not (REPO / s).exists()] == []


def test_every_fenced_block_is_a_shell_block_or_a_known_kind_of_listing():
    unknown = [f"{b.id} ```{b.language}" for b in ALL_BLOCKS if b.language not in SHELL | NOT_SHELL]
    assert unknown == [], "a shell block in another dialect would be left out: use ```sh, or add the language"


def test_each_block_that_runs_has_one_expectation_and_each_expectation_one_block():
    missing = [b.id for b in RUNNING if len(expectations_for(b)) != 1]
    assert missing == [], "add one to tests/docs/expectations.py (or mark the block <!-- not-run: reason -->)"
    stray = [f"{e.source}: {e.marker}" for e in EXPECTATIONS
             if len([b for b in RUNNING if b.source == e.source and e.marker in b.code]) != 1]
    assert stray == [], "an expectation matches no block, or more than one"


def test_blocks_not_run_say_why_and_only_deployment_blocks_are_left_out():
    not_run = {b.id: b.not_run for b in ALL_BLOCKS if b.not_run is not None}
    assert all(reason and len(reason) > 10 for reason in not_run.values()), not_run
    by_source = {s: [b for b in ALL_BLOCKS if b.source == s and b.language in SHELL] for s in READING_ORDER}
    assert [b.id for b in by_source["README.md"] if b.runs], "the README's quick start runs"
    assert all(b.not_run for b in by_source["k8s/README.md"] if "kubectl" in b.code), "cluster blocks are marked"


def test_the_platform_starts_as_make_run_starts_it():
    """The machine runs `.venv/bin/supportctl up` in the checkout: what the Makefile's `run` recipe is."""
    makefile = (REPO / "Makefile").read_text()
    recipe = re.search(r"^run:[^\n]*\n((?:\t[^\n]*\n)+)", makefile, re.M)
    assert recipe and recipe.group(1).strip().splitlines() == ["$(BIN)/supportctl up"], recipe
    assert re.search(r"^VENV\s*:?=\s*\.venv$", makefile, re.M)
    assert re.search(r"^BIN\s*:?=\s*\$\(VENV\)/bin$", makefile, re.M)


def test_no_command_needs_a_tool_a_fresh_machine_lacks():
    assert [b.id for b in RUNNING if re.search(r"\buuidgen\b", b.code)] == []


# ---- the parser does not let a block slip out ---------------------------------------------------------

@pytest.mark.parametrize("text, problem", [
    ("<!-- not-run -->\n```sh\nls\n```\n", "write the marker"),
    ("<!-- not run: typo -->\n```sh\nls\n```\n", "write the marker"),
    ("<!-- not-run: far away -->\n\nSome prose.\n\n```sh\nls\n```\n", "right before its block"),
    ("<!-- not-run: for a diagram -->\n```mermaid\ngraph\n```\n", "before a ```mermaid block"),
    ("```sh\nls\n", "not closed"),
    ("text\n<!-- not-run: nothing follows -->\n", "no block after it"),
])
def test_a_marker_that_marks_nothing_or_is_misspelt_is_an_error(text, problem):
    with pytest.raises(DocumentError, match=re.escape(problem)):
        markdown_blocks("x.md", text)


def test_blocks_are_found_with_their_lines_and_markers():
    text = "# T\n\n```sh\necho one\n```\n\n<!-- not-run: needs a cluster -->\n```bash\nkubectl get pods\n```\n"
    first, second = markdown_blocks("x.md", text)
    assert (first.line, first.code, first.runs) == (4, "echo one\n", True)
    assert (second.line, second.not_run, second.runs) == (9, "needs a cluster", False)
    source = '"""Run it:\n\n    .venv/bin/python x.py a \\\\\n        --b c\n    .venv/bin/python x.py d\n\nDone."""\n'
    (block,) = docstring_blocks("x.py", source)
    assert (block.line, block.code) == (3, ".venv/bin/python x.py a \\\n    --b c\n.venv/bin/python x.py d\n")


# ---- every block, in the reader's order ---------------------------------------------------------------

@pytest.mark.timeout(150)
@pytest.mark.parametrize("block", RUNNING, ids=lambda b: b.id)
def test_a_documented_command_does_what_its_text_says(block: Block, machine: Machine):
    found = expectations_for(block)
    assert len(found) == 1, f"{block.id}: {len(found)} expectations in tests/docs/expectations.py match it"
    expectation = found[0]
    RESULTS[block.id] = "FAILED"
    ran = machine.run(block)
    problem = None
    if ran.returncode is None:
        problem = f"it did not finish within {BLOCK_TIMEOUT:.0f} s"
    else:
        try:
            expectation.check(ran)
        except Exception as exc:  # noqa: BLE001 - a KeyError in reading the output is a failed claim too
            problem = f"{type(exc).__name__}: {exc}"
    if problem is not None:
        pytest.fail(f"{block.id} should: {expectation.claim}\n{problem}\n--- the block ---\n{block.code}"
                    f"--- exit status {ran.returncode}; stdout ---\n{ran.stdout[-4000:]}\n--- stderr ---\n"
                    f"{ran.stderr[-4000:]}\n--- supportctl up (tail) ---\n{machine.log_tail(2000)}", pytrace=False)
    RESULTS[block.id] = f"ran {ran.seconds:4.1f} s"
