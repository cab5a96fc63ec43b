"""The Plotly maps of codes: class names from a user's folders show as text."""

from __future__ import annotations

import html

import numpy as np

from vaeapp.ui.code_maps import codes_figure


def test_class_names_are_text_not_markup_or_template() -> None:
    classes = ("<a href='javascript:alert(1)'>seven</a>", "%{x} & co")
    figure = codes_figure(np.zeros((4, 2)), np.array([0, 0, 1, 1]), classes)
    for trace, name in zip(figure.data, classes, strict=True):
        assert "<" not in trace.name and html.unescape(trace.name) == name
        assert name not in trace.hovertemplate and "%{x}" not in trace.hovertemplate
