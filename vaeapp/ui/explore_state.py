"""What the Explore page remembers between reruns and pages, as one object in the session.

The latent code shown (`code`) is replaced by a click on the map, a button or an encoded image,
and changed one entry at a time by a slider. A code chosen here (not by a click) is marked on the
map with a cross; a click's pin the browser marks itself. Replacing the code renews the sliders
(new widget keys), so a browser still holding the old sliders cannot send their values back over
it. Being plain session state, not widgets, all of it survives a visit to another page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st
import torch

STATE_KEY = "explore_state"
MEAN, CLICK, SLIDER = "the test codes' mean", "your click", "the sliders"


@dataclass
class ExploreState:
    model: str | None = None
    code: list[float] = field(default_factory=list)
    source: str = MEAN  # what set the code, in words
    pinned_index: int | None = None  # the test image a click hit
    slider_version: int = 0
    prior_draws: int = 0
    sample_seed: int = 0

    @classmethod
    def of_session(cls) -> ExploreState:
        if not isinstance(st.session_state.get(STATE_KEY), cls):
            st.session_state[STATE_KEY] = cls()
        return st.session_state[STATE_KEY]

    def start_over_if_new(self, model: str, start: torch.Tensor) -> None:
        """A different model starts at `start` (the test codes' mean); a newer checkpoint of
        the same run keeps the code."""
        if self.model != model:
            self.model = model
            self.set_code(start, MEAN)

    def set_code(self, z: torch.Tensor, source: str) -> None:
        """Replace the code from the page: a button, an encoded image."""
        self.code = [float(v) for v in z]
        self.source = source
        self.pinned_index = None
        self.slider_version += 1

    def pinned(self, code: tuple[float, ...], index: int | None) -> None:
        """A click on the map pinned `code` (on the test image `index`, if it hit a dot)."""
        self.set_code(torch.tensor(code), CLICK)
        self.pinned_index = index

    def move_slider(self, key: str, i: int, value: float) -> None:
        """Slider `i` (widget `key`) moved to `value`. A slider of a code since replaced (the
        last model's, before a click) can still report after the replacement, as a browser
        sends back the widgets it showed: its value belongs to that code, not to this one."""
        if key != self.slider_key(i):
            return
        self.code[i] = value
        self.source = SLIDER
        self.pinned_index = None

    @property
    def chosen_here(self) -> bool:
        """Whether the page set the code (not a click): the map marks it with a cross."""
        return self.source != CLICK

    def latent(self) -> torch.Tensor:
        return torch.tensor(self.code)

    def slider_key(self, i: int) -> str:
        return f"explore_z{i}_v{self.slider_version}"
