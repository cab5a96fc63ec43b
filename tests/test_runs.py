"""Run directories: atomic weights-only checkpoints, refusals, torn metrics, safe names."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tests.conftest import small_config
from tests.damaged_runs import MARKER, hostile_pickle, hostile_torch_checkpoint
from vaeapp.errors import CheckpointError, ConfigError, RunError, WriteError
from vaeapp.model.networks import build_model
from vaeapp.store.catalog import entries, entry_for, run_path, saved_runs, summarise
from vaeapp.store.checkpoints import SUMMED as SUMS
from vaeapp.store.runs import Run


def saved_run(tmp_path: Path) -> tuple[Run, dict]:
    run = Run.create(tmp_path / "run", small_config())
    model = build_model(run.read_config().model)
    progress = {"epoch": 1, "step_in_epoch": 0, "global_step": 4, "sums": dict.fromkeys(SUMS, 0.0)}
    state = {"model": model.state_dict(), "progress": progress}
    run.save_checkpoint(state)
    return run, state


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    run, state = saved_run(tmp_path)
    model, config = run.load_model()
    assert config == small_config()
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(tensor, state["model"][name])
    assert not any(p.name.endswith(".tmp") for p in run.path.iterdir())


@pytest.mark.parametrize(
    "hostile", [hostile_torch_checkpoint, hostile_pickle], ids=["torch.save", "plain pickle"]
)
def test_a_checkpoint_that_would_run_code_is_refused(
    tmp_path: Path, hostile: Callable[[Path], None]
) -> None:
    run, _ = saved_run(tmp_path)
    hostile(run.path)
    with pytest.raises(CheckpointError, match="not a weights-only checkpoint"):
        run.load_model()
    assert not (run.path / MARKER).exists()


def test_truncated_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    run, _ = saved_run(tmp_path)
    data = run.checkpoint_path.read_bytes()
    run.checkpoint_path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="unreadable or truncated"):
        run.load_model()


def test_checkpoint_not_matching_its_config(tmp_path: Path) -> None:
    run, _ = saved_run(tmp_path)
    bigger = build_model(small_config().model.__class__(arch="mlp", latent_dim=5, hidden=(32,)))
    run.save_checkpoint({"model": bigger.state_dict()})
    with pytest.raises(CheckpointError, match="does not match its config"):
        run.load_model()


def test_failed_write_keeps_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, _ = saved_run(tmp_path)
    before = run.checkpoint_path.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(WriteError, match="No space left on device.*previous version is intact"):
        run.save_checkpoint({"model": {}})
    assert run.checkpoint_path.read_bytes() == before
    assert [p.name for p in run.path.iterdir() if p.name.endswith(".tmp")] == []


def test_torn_last_metrics_line_is_skipped(tmp_path: Path) -> None:
    run, _ = saved_run(tmp_path)
    epoch = {"kind": "epoch", "epoch": 1, "test_elbo": -100.0, "time": 1.0}
    run.append_metrics(epoch)
    with run.metrics_path.open("a") as out:
        out.write('{"kind": "step", "elb')
    assert run.read_metrics() == [epoch]
    assert summarise(run).test_elbo == -100.0
    resumed = Run(run.path)
    resumed.append_metrics(
        {"kind": "start", "time": 2.0, "epoch": 1, "step": 4, "epochs": 2, "steps_per_epoch": 4}
        | {"n_train": 200}
    )
    assert [e["kind"] for e in resumed.read_metrics()] == ["epoch", "start"]


def test_create_refuses_to_overwrite_a_run(tmp_path: Path) -> None:
    run, _ = saved_run(tmp_path)
    with pytest.raises(RunError, match="already holds a run"):
        Run.create(run.path, small_config())


def test_saved_runs_lists_folders_holding_a_config_most_recent_first(tmp_path: Path) -> None:
    saved_run(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "a-file").write_text("not a run")
    later = Run.create(tmp_path / "no-checkpoint-yet", small_config())
    later.append_metrics({"kind": "end", "status": "stopped", "epoch": 0, "time": 1.0})
    assert [run.name for run in saved_runs(tmp_path)] == ["no-checkpoint-yet", "run"]
    assert [run.has_checkpoint() for run in saved_runs(tmp_path)] == [False, True]


@pytest.mark.parametrize(
    "name",
    ["", "  ", "../x", "..", ".", "/etc/passwd", "a/b", "a\\b", "x" * 101, ".hidden", "nul\0l"],
)
def test_unsafe_run_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError):
        run_path(tmp_path, name)


def test_unicode_run_name_stays_inside_the_runs_folder(tmp_path: Path) -> None:
    path = run_path(tmp_path, "ß-数字-🙂")
    assert path.parent == tmp_path


def test_a_list_of_runs_reads_each_runs_history_only_once_asked_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        run, _ = saved_run(tmp_path / str(i))
        run.append_metrics({"kind": "epoch", "epoch": 1, "time": 1.0, "test_elbo": -90.0 - i})
    reads: list[Path] = []
    real = Run.iter_metrics_but_steps
    monkeypatch.setattr(Run, "iter_metrics_but_steps", lambda r: reads.append(r.path) or real(r))
    runs = [run for folder in "012" for run in saved_runs(tmp_path / folder)]
    summaries = [summarise(run) for run in runs]
    assert reads == []  # a picker of 5,000 runs lists their configs, not their histories
    assert [s.test_elbo for s in summaries] == [-90.0, -91.0, -92.0]
    assert summaries[0].epochs == "1/2" and len(reads) == 3  # each read once, then kept


def test_a_run_whose_metrics_file_is_a_link_has_no_summary(tmp_path: Path) -> None:
    run, _ = saved_run(tmp_path)
    outside = tmp_path / "elsewhere.jsonl"
    outside.write_bytes(b'{"kind": "epoch", "epoch": 7, "time": 1.0}\n')
    run.metrics_path.unlink(missing_ok=True)
    run.metrics_path.symlink_to(outside)
    with pytest.raises(RunError, match="link"):
        summarise(run)


def test_one_models_entry_is_the_one_the_list_gives_and_none_for_what_it_leaves_out(
    tmp_path: Path,
) -> None:
    """A page with no picker asks for the chosen model alone: the answer must be the list's."""
    root = tmp_path / "runs"
    root.mkdir()
    for name in ("plain", "broken", "untrained"):
        saved_run(tmp_path / "made" / name)[0].path.rename(root / name)
    (root / "broken" / "config.json").write_text("{")
    (root / "untrained" / "checkpoint.pt").unlink()
    (root / "linked").symlink_to(root / "plain")
    elsewhere, _ = saved_run(tmp_path / "elsewhere")
    listed, unreadable = entries(root)
    by_path = {str(entry.run.path): entry for entry in listed}
    for entry in listed:
        assert entry_for(str(entry.run.path), root) == entry
    assert "broken" in unreadable and entry_for(str(root / "broken"), root) is None
    for left_out in ("untrained", "linked", "nowhere"):
        assert str(root / left_out) not in by_path and entry_for(str(root / left_out), root) is None
    assert entry_for(str(elsewhere.path), root) is None  # a run outside the runs folder
