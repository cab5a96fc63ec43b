"""The "What am I looking at?" texts: their maths reaches KaTeX whole."""

from __future__ import annotations

import re

import pytest

from vaeapp.ui.explain import MODEL, PAGES

TEXTS = {"model": MODEL, **PAGES}
# What opens a markdown block at the start of a line (CommonMark): a list item, a heading, a
# block quote, a thematic break, a fenced or indented code block.
BLOCK_START = re.compile(r"^(?:[-+*]\s|\d{1,9}[.)]\s|#{1,6}\s|>|(?:[-*_]\s*){3,}$|```|~~~| {4})")


def display_maths(text: str) -> list[str]:
    return re.findall(r"\$\$(.*?)\$\$", text, flags=re.DOTALL)


@pytest.mark.parametrize("name", TEXTS)
def test_every_display_opens_and_closes_on_a_line_of_its_own(name: str) -> None:
    """remark-math takes what follows an opening "$$" on its line for an info string, and
    drops it; a "$$" inside a line closes nothing."""
    for line in TEXTS[name].splitlines():
        assert "$$" not in line or line.strip() == "$$", f"{name}: {line!r}"


@pytest.mark.parametrize("name", TEXTS)
def test_no_line_of_display_maths_starts_a_markdown_block(name: str) -> None:
    for maths in display_maths(TEXTS[name]):
        for line in maths.splitlines()[1:]:
            assert not BLOCK_START.match(line), f"{name}: {line!r} would leave the $$ display"


def test_the_elbo_is_shown_as_one_display() -> None:
    (elbo,) = display_maths(MODEL)
    assert r"\mathrm{ELBO}(x)" in elbo and r"\mathrm{KL}" in elbo
