"""The browser fixtures of tests/e2e, for the reliability tests that drive Chromium."""

from tests.e2e.conftest import browser, page  # noqa: F401
