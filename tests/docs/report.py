"""How each documented block went, for the end of the run and test-artifacts/doc-commands.txt."""

from __future__ import annotations

from tests.docs.blocks import REPO, SHELL, DocumentError, reading_order

REPORT_FILE = REPO / "test-artifacts" / "doc-commands.txt"
RESULTS: dict[str, str] = {}  # block id (or "platform") → how its run went


def report() -> list[str]:
    """Every shell block in the reader's order: how its run went, or why it is not run."""
    try:
        blocks = [b for b in reading_order() if b.language in SHELL]
    except DocumentError as exc:
        return [f"the documents cannot be read: {exc}"]
    lines = [RESULTS["platform"]] if "platform" in RESULTS else []
    for block in blocks:
        if block.not_run is not None:
            lines.append(f"not run   {block.id}: {block.not_run}")
        else:
            lines.append(f"{RESULTS.get(block.id, 'not reached'):<9} {block.id}")
    return lines
