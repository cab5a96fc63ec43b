"""Text a page shows as typed: light to import, for the first view drawn before torch."""

from __future__ import annotations

import re

ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def literal(text: str) -> str:
    """`text` escaped for Streamlit's markdown: messages quote what a user's files hold (config
    keys, paths, log lines), which must show as typed, never as a link, an image to fetch or
    maths. Every ASCII punctuation mark is escaped (CommonMark shows an escaped one as itself),
    so no syntax is left to form, `:icon:` shortcodes and a list's `- ` included. A bare address
    still shows as a link to itself (Streamlit links those after the escapes), which hides
    nothing and fetches nothing."""
    return ASCII_PUNCTUATION.sub(r"\\\1", text)
