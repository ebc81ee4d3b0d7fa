"""Hypothesis strategies for the property tests of free text: any Unicode a JSON body can carry
(every plane, C0 and C1 controls, U+FFFE/U+FFFF, combining marks, right-to-left text), mostly
short, sometimes padded with whitespace or at the length limits."""

from __future__ import annotations

from hypothesis import strategies as st

# lone surrogates cannot be encoded as UTF-8 JSON at all: no client can send them
ANY_CHARACTER = st.characters(exclude_categories=("Cs",))
TRICKY = st.sampled_from(["\x00", "\x01", "\x0b", "\x1f", "\x7f", "\x85", "\ufffe", "\uffff", "\u200f", "\u0301",
                          "\U0001f600", "<", "&", "]]>", "\t", "\n", "\r", " "])


def free_text(max_size: int = 80) -> st.SearchStrategy[str]:
    """Text for one field: arbitrary characters with the tricky ones over-represented."""
    return st.lists(st.one_of(ANY_CHARACTER, TRICKY), max_size=max_size).map("".join)


def printable_text(max_size: int = 60) -> st.SearchStrategy[str]:
    """Text a person could type in any script (letters, marks, digits, punctuation, symbols,
    emoji, spaces): what should be served, not refused."""
    return st.text(st.characters(categories=("L", "M", "N", "P", "S", "Zs")), min_size=1,
                   max_size=max_size).filter(lambda s: bool(s.strip()))


def mostly_printable(max_size: int = 60) -> st.SearchStrategy[str]:
    """Three times in four printable text, else anything: a body with several fields is then
    often served whole, and often refused for one field."""
    return st.one_of(printable_text(max_size), printable_text(max_size), printable_text(max_size),
                     free_text(max_size))
