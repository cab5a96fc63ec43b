"""Helpers that drive vaeapp from outside, shared by the tests and the benchmarks.

The app served by `streamlit run app.py` and read in a real Chromium, phone-photo-like pictures
of real test digits, the plain PyTorch training loop of the tutorial that the trainer is measured
against, and one way to wait for something to happen. Tests import from here and from `tests`,
benchmarks from here and from `benchmarks`, never one from the other.

Not shipped in the wheel: pyproject.toml packages `vaeapp*` only.
"""
