"""Run folders as a hostile colleague would hand them over: links and special files in place of
a run's files, JSON of any shape, checkpoints that inflate or lie, settings that pass validation
but cannot run, and output folders that are not runs. Each gets one clear line, nothing outside
the run changes, and nothing blocks."""

from __future__ import annotations

import io
import json
import os
import re
import resource
import stat
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
import torch

from tests.command_line import cli_error, run_vaeapp
from tests.conftest import small_config
from vaeapp import files
from vaeapp.config import ModelConfig, RunConfig, TrainConfig
from vaeapp.errors import CheckpointError, ConfigError, RunError, VaeappError
from vaeapp.model.networks import build_model
from vaeapp.paths import runs_dir
from vaeapp.store.catalog import saved_runs, summarise
from vaeapp.store.epoch_outputs import RECONSTRUCTIONS_FILE
from vaeapp.store.events import FINISHED
from vaeapp.store.history import MetricsFollower
from vaeapp.store.run_jobs import JOB_FILE, LOG_FILE, TRAIN_LOCK_FILE
from vaeapp.store.runs import CHECKPOINT_FILE, CONFIG_FILE, METRICS_FILE, Run
from vaeapp.training import jobs
from vaeapp.training.machine import check_memory, memory_of, training_bytes
from vaeapp.training.trainer import Trainer

SECRET = b"a file outside the run that must never change\n"


def finishes(action: Callable[[], object], seconds: float = 20) -> object:
    """Run `action` in a thread and fail if it blocks (on a FIFO, say) past `seconds`."""
    outcome: list[object] = []

    def target() -> None:
        try:
            outcome.append(action())
        except BaseException as exc:  # handed back to the test below
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "it blocked"
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


@pytest.fixture
def trained(tiny_dataset) -> Run:
    run = Run.create(runs_dir() / "shared", small_config(epochs=1))
    Trainer(run, tiny_dataset).fit()
    return run


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_bytes(SECRET)
    return secret


# --- class 1: links and special files inside a run ---------------------------------------------

WRITTEN_BY_TRAINING = (METRICS_FILE, TRAIN_LOCK_FILE, CHECKPOINT_FILE, RECONSTRUCTIONS_FILE)


@pytest.mark.parametrize("name", WRITTEN_BY_TRAINING)
def test_training_never_writes_through_a_link_out_of_the_run(
    trained: Run, outside: Path, tiny_dataset, name: str
) -> None:
    target = trained.file(name)
    target.unlink()
    target.symlink_to(outside)
    config = trained.read_config()
    trained.write_config(replace(config, train=replace(config.train, epochs=2)))
    try:
        Trainer(trained, tiny_dataset).fit()
    except VaeappError as error:
        assert "symbolic link" in str(error)
    assert outside.read_bytes() == SECRET
    assert list(outside.parent.iterdir()) == [outside]


def test_a_job_never_writes_its_log_or_record_through_a_link(outside: Path, cleanup: None) -> None:
    config = RunConfig(ModelConfig(arch="mlp", hidden=(16,)), TrainConfig(epochs=1))
    run = Run.create(runs_dir() / "linked-log", config)
    run.file(LOG_FILE).symlink_to(outside)
    with pytest.raises(VaeappError, match="symbolic link"):
        jobs._launch(run)
    assert outside.read_bytes() == SECRET
    run.file(LOG_FILE).unlink()
    run.file(JOB_FILE).symlink_to(outside)
    jobs._launch(run)  # the record replaces the link itself: a rename never follows one
    assert outside.read_bytes() == SECRET and not run.file(JOB_FILE).is_symlink()


@pytest.mark.parametrize(
    "name", [METRICS_FILE, CHECKPOINT_FILE, CONFIG_FILE, JOB_FILE, TRAIN_LOCK_FILE, LOG_FILE]
)
def test_a_fifo_in_place_of_a_runs_file_never_blocks(trained: Run, tiny_dataset, name: str) -> None:
    """Reading treats it as damaged (or, for the lock, log and record, as absent); training
    refuses it. Nothing waits for a writer that never comes."""
    path = trained.file(name)
    path.unlink(missing_ok=True)
    os.mkfifo(path)

    def read_everything() -> None:
        jobs.state(trained)
        MetricsFollower(trained).read()
        summarise(trained)
        trained.load_model()

    def train() -> None:
        with trained.lock(), trained.metrics_appender():
            Trainer(trained, tiny_dataset)

    for action in (read_everything, train):
        try:
            finishes(action)
        except VaeappError as error:
            assert re.search("FIFO|not a regular file|no checkpoint", str(error)), error


def read(path: Path) -> None:
    with files.open_for_reading(path):
        pass


def outcome(action: Callable[[], object]) -> tuple[type, str]:
    try:
        action()
    except (OSError, VaeappError) as error:
        return type(error), str(error)
    return type(None), ""


def test_checking_a_file_refuses_what_reading_it_refuses(tmp_path: Path) -> None:
    """A list of 5,000 runs checks each metrics file with `lstat`, never opening it: the check
    must give the reading's answer, message and all, for every kind of thing in its place."""
    (tmp_path / "regular").write_text("{}")
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link").symlink_to(tmp_path / "regular")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "into-folder").symlink_to(tmp_path / "folder")
    names = ["regular", "folder", "fifo", "link", "dangling", "into-folder", "missing"]
    for name in names:
        path = tmp_path / name
        assert outcome(partial(files.check_regular, path)) == outcome(partial(read, path)), name
    assert outcome(lambda: files.check_regular(tmp_path / "regular"))[0] is type(None)


def test_a_device_or_a_folder_in_place_of_the_checkpoint(trained: Run) -> None:
    trained.checkpoint_path.unlink()
    trained.checkpoint_path.symlink_to("/dev/zero")
    with pytest.raises(CheckpointError, match="symbolic link"):
        finishes(trained.load_model)
    trained.checkpoint_path.unlink()
    trained.checkpoint_path.mkdir()
    with pytest.raises(CheckpointError, match="directory"):
        finishes(trained.load_model)
    trained.checkpoint_path.rmdir()
    try:
        os.mknod(trained.checkpoint_path, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero
    except PermissionError:
        return
    with pytest.raises(CheckpointError, match="device|no checkpoint"):
        finishes(trained.load_model)


def test_reads_are_bounded(trained: Run) -> None:
    trained.file(CONFIG_FILE).write_bytes(b" " * (1 << 20) + b"{}")
    with pytest.raises(RunError, match="larger than"):
        finishes(trained.read_config)
    with trained.metrics_path.open("ab") as metrics:  # one line of 64 MB, then a good one
        metrics.write(b"[" * (64 << 20) + b"\n")
    assert finishes(trained.read_metrics)[-1]["kind"] == "end"


# --- class 2: any JSON a run can hold ------------------------------------------------------------

HOSTILE_JSON = {
    "nested 100,000 deep": "[" * 100_000 + "]" * 100_000,
    "an integer past the conversion limit": '{"seed": ' + "9" * 5000 + "}",
    "a list": "[1, 2, 3]",
    "null": "null",
    "not UTF-8": b"\xff\xfe{}",
}


@pytest.mark.parametrize("text", HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
def test_any_config_json_is_one_clear_refusal(trained: Run, text: str | bytes) -> None:
    data = text if isinstance(text, bytes) else text.encode()
    trained.file(CONFIG_FILE).write_bytes(data)
    with pytest.raises(RunError):
        summarise(trained)


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("train", "seed", "7"),
        ("train", "batch_size", [128]),
        ("train", "epochs", None),
        ("model", "hidden", 5),
        ("model", "hidden", [[64]]),
        ("model", "latent_dim", 10**30),
        ("train", "lr", 0),
        ("", "data_source", [1]),
        ("", "versions", {"torch": 2}),
    ],
)
def test_config_values_of_the_wrong_type_are_refused(
    trained: Run, section: str, key: str, value: object, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = json.loads(trained.file(CONFIG_FILE).read_text())
    (raw[section] if section else raw)[key] = value
    trained.file(CONFIG_FILE).write_text(json.dumps(raw))
    with pytest.raises(RunError):
        summarise(trained)
    cli_error(["sample", str(trained.path), "-o", str(trained.path / "x.png")], capsys)
    assert saved_runs() == [trained]  # still listed, read as unreadable


@pytest.mark.parametrize(
    "event",
    [
        {"kind": "epoch", "epoch": "2", "time": 1.0, "test_elbo": -90.0},
        {"kind": "epoch", "epoch": -1, "time": 1.0, "test_elbo": -90.0},
        {"kind": "epoch", "epoch": 2, "time": 1.0, "test_elbo": "high"},
        {"kind": "start", "epoch": 0, "step": 0, "epochs": 3, "steps_per_epoch": 0}
        | {"n_train": 5, "time": 1.0},
        {"kind": "step", "epoch": 1, "step": 1, "time": None, "elbo": 1, "recon": 1, "kl": 1},
        {"kind": "end", "status": "exploded", "epoch": 1, "time": 1.0},
    ],
)
def test_malformed_metrics_lines_are_skipped_like_torn_ones(trained: Run, event: dict) -> None:
    before = summarise(trained)
    trained.append_metrics(event)
    assert summarise(trained) == before
    history = MetricsFollower(trained).read()
    assert list(history.epochs) == [1]
    assert jobs.state(trained).status == FINISHED


# --- class 3: checkpoints ------------------------------------------------------------------------


def inflating_checkpoint(run: Run, inflated: int, compression: int) -> bytes:
    """The run's checkpoint with its first tensor entry replaced by `inflated` bytes of zeros,
    stored or deflated (3 GB of zeros deflate to about 3 MB)."""
    buffer = io.BytesIO()
    torch.save(run.load_checkpoint(), buffer)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as original,
        zipfile.ZipFile(out, "w", compression=compression) as bomb,
    ):
        for name in original.namelist():
            if not name.endswith("/data/0"):
                bomb.writestr(name, original.read(name))
                continue
            with bomb.open(name, "w", force_zip64=True) as entry:
                zeros = bytes(1 << 24)
                for _ in range(inflated // len(zeros)):
                    entry.write(zeros)
    return out.getvalue()


def test_a_checkpoint_larger_than_its_config_allows_is_refused_unread(trained: Run) -> None:
    trained.checkpoint_path.write_bytes(inflating_checkpoint(trained, 64 << 20, zipfile.ZIP_STORED))
    with pytest.raises(CheckpointError, match="larger than"):
        trained.load_model()


@pytest.mark.slow
def test_a_deflate_bomb_checkpoint_is_refused_in_bounded_memory() -> None:
    """A file of a few MB that a model of 10 MB could hold; loaded in a fresh process, whose
    peak RSS (printed) stays far below 1.5 GB."""
    config = RunConfig(ModelConfig(arch="mlp", latent_dim=20, hidden=(512, 256)), TrainConfig())
    trained = Run.create(runs_dir() / "bigger", config)
    trained.save_checkpoint({"model": build_model(config.model).state_dict()})
    bomb = inflating_checkpoint(trained, 3 << 30, zipfile.ZIP_DEFLATED)
    assert len(bomb) < 8 << 20
    trained.checkpoint_path.write_bytes(bomb)
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across fork and exec, so a child of a large
    # test process would report its parent's peak; VmHWM belongs to the new address space.
    script = (
        "import re\nfrom pathlib import Path\nfrom vaeapp.store.runs import Run\n"
        "from vaeapp.errors import VaeappError\n"
        f"try:\n    Run({str(trained.path)!r}).load_model()\nexcept VaeappError as e:\n"
        "    print(e)\n"
        "print(re.search(r'VmHWM:\\s+(\\d+) kB', Path('/proc/self/status').read_text())[1])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    message, peak_kb = done.stdout.strip().splitlines()
    assert "compressed entries" in message
    print(f"peak RSS loading a 3 GB-inflating checkpoint: {int(peak_kb) / 1024:.0f} MB")
    assert int(peak_kb) < 1.5 * 2**20


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"just some text\n", "not a PyTorch checkpoint"),
        (b"\x89PNG\r\n\x1a\n", "not a PyTorch checkpoint"),
        (b"", "not a PyTorch checkpoint"),
        (b"\x80\x04K\x01.", "old format"),
    ],
)
def test_other_formats_named_checkpoint_are_refused_with_the_true_reason(
    trained: Run, content: bytes, says: str
) -> None:
    trained.checkpoint_path.write_bytes(content)
    with pytest.raises(CheckpointError, match=says):
        trained.load_model()


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s["progress"].update(epoch=-1),
        lambda s: s["progress"].update(global_step="many"),
        lambda s: s["progress"].pop("sums"),
        lambda s: s.update(progress=[1, 2]),
        lambda s: s["optimizer"]["state"][0].update(exp_avg=torch.zeros(3)),
        lambda s: s["optimizer"]["state"][0].update(
            exp_avg_sq=torch.full_like(s["optimizer"]["state"][0]["exp_avg_sq"], float("nan"))
        ),
        lambda s: s["optimizer"].update(param_groups="none"),
        lambda s: s.update(optimizer=7),
        lambda s: s.update(extra=torch.zeros(2)),
    ],
)
def test_a_tampered_training_state_is_refused_before_training(
    trained: Run, tiny_dataset, tamper: Callable[[dict], None]
) -> None:
    state = trained.load_checkpoint()
    tamper(state)
    trained.save_checkpoint(state)
    with pytest.raises(CheckpointError):
        Trainer(trained, tiny_dataset)


# --- class 4: settings that pass validation but cannot run ---------------------------------------


def test_the_largest_seed_allowed_trains(new_run, tiny_dataset) -> None:
    run = new_run(epochs=1, seed=2**63 - 1)
    assert Trainer(run, tiny_dataset).fit() == "finished"


def test_settings_that_cannot_fit_in_memory_are_refused_before_anything_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    big = RunConfig(train=TrainConfig(batch_size=65_536, mc_samples=1000))
    with pytest.raises(ConfigError, match="GB .*more than the .* GB of CPU memory"):
        check_memory(big, torch.device("cpu"))
    out = tmp_path / "big"
    argv = ["train", "--batch-size", "65536", "--mc-samples", "1000", "--out", str(out)]
    assert "lower the batch size" in cli_error(argv, capsys)
    assert not out.exists()
    with pytest.raises(ConfigError, match="lower the batch size"):
        jobs.start(big, "too-big")
    assert saved_runs() == []


def test_processes_on_one_machine_share_its_memory_and_gpus_do_not() -> None:
    cpu = torch.device("cpu")

    def config(batch_size: int, processes: int = 1) -> RunConfig:
        return RunConfig(train=TrainConfig(batch_size=batch_size, world_size=processes))

    per_image = training_bytes(config(2)) - training_bytes(config(1))
    fixed = training_bytes(config(1)) - per_image
    batch = int((0.7 * memory_of(cpu) - fixed) / per_image)  # one process: 70% of the memory
    check_memory(config(batch), cpu)
    with pytest.raises(ConfigError, match="2 processes.*more than the .* GB of CPU memory"):
        check_memory(config(batch, processes=2), cpu)  # the app's job: both on this machine
    with pytest.raises(ConfigError, match="2 processes"):
        check_memory(config(batch, processes=4), cpu, processes_here=2)  # torchrun, two nodes
    check_memory(config(batch, processes=4), cpu, processes_here=1)


def test_resume_below_the_epochs_done_is_refused_and_changes_nothing(
    trained: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    config = trained.file(CONFIG_FILE).read_bytes()
    trained.append_metrics({"kind": "epoch", "epoch": 5, "time": time.time(), "test_elbo": -1.0})
    message = cli_error(["train", "--resume", str(trained.path), "--epochs", "3"], capsys)
    assert "has trained 5 of 3 epochs; ask for more than 5 epochs to continue" in message
    assert trained.file(CONFIG_FILE).read_bytes() == config
    with pytest.raises(ConfigError) as refused:  # the app's Resume: the same words
        jobs.resume(trained, epochs=3)
    assert message.rstrip("\n").endswith(str(refused.value))
    assert trained.file(CONFIG_FILE).read_bytes() == config


# --- class 6: output paths -----------------------------------------------------------------------


@pytest.mark.slow
def test_out_into_a_folder_that_is_not_a_run_is_refused(tmp_path: Path) -> None:
    mine = tmp_path / "my-pictures"
    mine.mkdir()
    (mine / "samples.png").write_bytes(b"my own picture")
    done = run_vaeapp("train", "--epochs", "1", "--arch", "mlp", "--out", str(mine))
    assert done.returncode == 1 and "not a vaeapp run" in done.stderr
    assert sorted(p.name for p in mine.iterdir()) == ["samples.png"]
    assert (mine / "samples.png").read_bytes() == b"my own picture"


def test_temp_files_of_a_killed_writer_are_removed_at_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "config.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    orphan = tmp_path / f".config.json.{dead.stdout.strip()}.abc123.tmp"
    orphan.write_bytes(b"half a config")
    live = tmp_path / f".config.json.{os.getpid()}.def456.tmp"
    live.write_bytes(b"being written now")
    files.write_atomically(target, b"{}")
    assert not orphan.exists() and live.exists() and target.read_bytes() == b"{}"


def test_a_huge_metrics_line_is_followed_in_bounded_looks(trained: Run) -> None:
    """A metrics file that ends in 200 MB of one line is read a bounded look at a time."""
    with trained.metrics_path.open("ab") as metrics:
        for _ in range(200):
            metrics.write(b"x" * (1 << 20))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    follower = MetricsFollower(trained)
    for _ in range(8):
        follower.read()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 150 * 1024


def test_a_run_renamed_while_it_trains_never_writes_into_the_run_made_under_its_old_name(
    tiny_dataset,
) -> None:
    run = Run.create(runs_dir() / "renamed", small_config(epochs=2))
    moved = run.path.with_name("renamed-later")
    newcomer: list[Run] = []

    def rename_and_start_another(event: dict) -> None:
        if event["kind"] == "step" and not newcomer:
            run.path.rename(moved)
            newcomer.append(Run.create(run.path, small_config(epochs=2)))

    with pytest.raises(RunError, match="moved or replaced"):
        Trainer(run, tiny_dataset, on_event=rename_and_start_another).fit()
    assert sorted(p.name for p in newcomer[0].path.iterdir()) == [CONFIG_FILE]
    kinds = [event["kind"] for event in Run(moved).read_metrics()]
    assert kinds[0] == "start" and kinds[-1] == "end"  # the history followed the rename
    assert Run(moved).read_metrics()[-1]["status"] == "failed"
