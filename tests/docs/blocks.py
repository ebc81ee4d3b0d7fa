"""The commands the documentation gives a reader: fenced ```sh / ```bash blocks in the Markdown files
and the indented command lines in the examples' docstrings, in the order a reader meets them.

A block that is not meant to run on a development machine says so right before its fence, in a
comment the rendered page does not show: `<!-- not-run: the reason -->`. Every other shell block runs.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Where a reader meets the documents: the README first, then each guide with the example it introduces,
# then the rest. Every Markdown file and every example must be listed (a test checks it).
READING_ORDER = [
    "README.md",
    "docs/guides/shop-checkout.md",
    "examples/checkout.py",
    "docs/guides/crm.md",
    "examples/crm_sync.py",
    "docs/guides/agents.md",
    "docs/guides/operators.md",
    "docs/sla-upgrade.md",
    "docs/decisions.md",
    "k8s/README.md",
    "k8s/overlays/dev/keys/README.md",
    "bench/README.md",
    "examples/platform_api.py",
]

SHELL = {"sh", "bash", "shell"}
# Fenced blocks that are not commands: listings, diagrams, requests, code to read.
NOT_SHELL = {"", "http", "mermaid", "yaml", "sql", "python", "json", "text"}

_FENCE = re.compile(r"^ {0,3}```\s*([\w+-]*)\s*$")
_MARKER = re.compile(r"^<!--\s*not-run:\s*(.*?)\s*-->$")
_LOOSE_MARKER = re.compile(r"not[- _]?run", re.I)


@dataclass(frozen=True)
class Block:
    source: str  # the file, relative to the repository
    line: int  # the line of its first command
    code: str
    language: str
    not_run: str | None = None  # the reason given in the Markdown; None: it runs

    @property
    def id(self) -> str:
        return f"{self.source}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.language in SHELL and self.not_run is None


class DocumentError(ValueError):
    """A marker that is malformed or marks nothing: it would exclude a block by accident or not at all."""


def markdown_blocks(source: str, text: str) -> list[Block]:
    """Every fenced block of a Markdown text, with the not-run reason written right before it."""
    blocks: list[Block] = []
    lines = text.splitlines()
    pending: tuple[int, str] | None = None  # a not-run marker waiting for its block
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        fence = _FENCE.match(lines[i])
        if fence:
            start, language = i + 1, fence.group(1).lower()
            i += 1
            while i < len(lines) and not re.match(r"^ {0,3}```\s*$", lines[i]):
                i += 1
            if i == len(lines):
                raise DocumentError(f"{source}:{start}: a fenced block is not closed")
            reason = None
            if pending is not None:
                if language not in SHELL:
                    raise DocumentError(f"{source}:{pending[0]}: a not-run marker before a ```{language} block")
                reason = pending[1]
                pending = None
            blocks.append(Block(source, start + 1, "\n".join(lines[start:i]) + "\n", language, reason))
        elif line.startswith("<!--") and _LOOSE_MARKER.search(line):
            found = _MARKER.match(line)
            if not found or not found.group(1):
                raise DocumentError(f"{source}:{i + 1}: write the marker as `<!-- not-run: the reason -->`: {line}")
            if pending is not None:
                raise DocumentError(f"{source}:{pending[0]}: a not-run marker with no block after it")
            pending = (i + 1, found.group(1))
        elif line and pending is not None:
            raise DocumentError(f"{source}:{pending[0]}: a not-run marker must come right before its block")
        i += 1
    if pending is not None:
        raise DocumentError(f"{source}:{pending[0]}: a not-run marker with no block after it")
    return blocks


def docstring_blocks(source: str, text: str) -> list[Block]:
    """The command lines a module's docstring gives: each run of lines indented by four spaces."""
    module = ast.parse(text)
    doc = ast.get_docstring(module, clean=True)
    if not doc:
        return []
    first = module.body[0].lineno  # the docstring's first line; clean=True keeps the line offsets
    blocks: list[Block] = []
    run: list[str] = []
    for offset, line in enumerate([*doc.splitlines(), ""]):
        if line.startswith("    ") or (run and line.startswith("  ") and run[-1].endswith("\\")):
            run.append(line[4:] if line.startswith("    ") else line.strip())
            continue
        if run:
            blocks.append(Block(source, first + offset - len(run), "\n".join(run) + "\n", "sh"))
            run = []
    return blocks


def blocks_of(source: str) -> list[Block]:
    text = (REPO / source).read_text(encoding="utf-8")
    return docstring_blocks(source, text) if source.endswith(".py") else markdown_blocks(source, text)


def documented_files() -> list[str]:
    """The Markdown files of the repository and the examples, relative to it."""
    skip = {"node_modules", "test-artifacts"}
    found = [p for p in REPO.rglob("*.md")
             if not any(part.startswith(".") or part in skip for part in p.relative_to(REPO).parts)]
    found += list((REPO / "examples").glob("*.py"))
    return sorted(str(p.relative_to(REPO)) for p in found)


def reading_order() -> list[Block]:
    """Every fenced or docstring block, document by document in READING_ORDER, top to bottom."""
    return [block for source in READING_ORDER if (REPO / source).exists() for block in blocks_of(source)]
