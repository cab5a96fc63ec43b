"""What the Explore page remembers between reruns, as one object in the session.

The latent code shown (`code`) is replaced by a click, the prior button or the reset button, and
changed one entry at a time by a slider. Replacing it renews the sliders (new widget keys), so a
browser still holding the old sliders cannot send their values back over it. A click is kept
for as long as the code is the one it set: any other change forgets it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st
import torch

STATE_KEY = "explore_state"


@dataclass
class Click:
    """A click on the map: the view it was made in, where it landed, the test image it hit."""

    view_id: str
    point: tuple[float, float]
    index: int | None
    marker: Any = None


@dataclass
class ExploreState:
    model: str | None = None
    code: list[float] = field(default_factory=list)
    crossed: bool = False  # the map marks the code with a cross: set by a slider or a button
    slider_version: int = 0
    click: Click | None = None
    prior_draws: int = 0
    sample_seed: int = 0
    kept: dict[str, Any] = field(default_factory=dict)  # drawings worth not rebuilding

    @classmethod
    def of_session(cls) -> ExploreState:
        if not isinstance(st.session_state.get(STATE_KEY), cls):
            st.session_state[STATE_KEY] = cls()
        return st.session_state[STATE_KEY]

    def start_over_if_new(self, model: str, dim: int) -> None:
        """A different model starts at the origin with no click (a newer checkpoint of the same
        run keeps the code)."""
        if self.model != model:
            self.model = model
            self.set_code(torch.zeros(dim), crossed=False)

    def set_code(self, z: torch.Tensor, crossed: bool = True) -> None:
        """Replace the code; `crossed`: the map marks it with a cross (set by a button)."""
        self.code = z.tolist()
        self.crossed = crossed
        self.slider_version += 1
        self.click = None

    def clicked(self, click: Click, z: torch.Tensor) -> None:
        self.set_code(z, crossed=False)
        self.click = click

    def move_slider(self, i: int, value: float) -> None:
        self.code[i] = value
        self.crossed = True
        self.click = None

    def latent(self) -> torch.Tensor:
        return torch.tensor(self.code)

    def click_in(self, view_id: str) -> Click | None:
        """The click that set the current code, if it was made in this view."""
        return self.click if self.click is not None and self.click.view_id == view_id else None

    def slider_key(self, i: int) -> str:
        return f"explore_z{i}_v{self.slider_version}"
