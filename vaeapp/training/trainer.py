"""The training loop: maximise the (beta-weighted) ELBO with Adam, one run directory at a time.

It reports through events (plain dicts) sent to a callback and appended to `metrics.jsonl`:
`start`, `step` (ELBO, recon, KL, images/s), `epoch` (train and test ELBO, recon, KL) and `end`.
It stops cleanly when `stop` is set (after the current step, saving first), never writes a
checkpoint with non-finite weights, and resumes exactly where the last checkpoint left off: the
data order and the noise of every step depend only on the seed and the step's position.

Under torchrun it is one of several processes (`distributed.World`): each trains on its rows of
every global batch, with the noise one process would draw for them, so N processes take the
steps one process would with the same global batch, up to the order of float additions. Process
0 alone writes the run directory; the processes agree on when to stop.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from vaeapp.config import RunConfig
from vaeapp.data.datasets import Dataset
from vaeapp.errors import CheckpointError, RunError, TrainingDiverged, VaeappError
from vaeapp.latent.codes import encode_dataset
from vaeapp.model.evaluate import elbo_sums, evaluation_images, summary_of
from vaeapp.model.networks import VAE, build_model
from vaeapp.model.objective import ElboTerms, elbo_terms
from vaeapp.model.posterior import active_units, kl_per_dim, unit_activity
from vaeapp.store.checkpoints import TrainingPosition
from vaeapp.store.events import DIVERGED, FAILED, FINISHED, STOPPED, Event
from vaeapp.store.runs import Run
from vaeapp.training.distributed import World
from vaeapp.training.epoch_pictures import write_epoch_pictures
from vaeapp.training.launch import check_world_size
from vaeapp.training.machine import resolve_device
from vaeapp.training.precision import Precision

EXPLOSION = 1000.0
EventCallback = Callable[[Event], None]


def kl_weight(beta: float, warmup_epochs: float, epochs_done: float) -> float:
    """beta, ramped linearly from 0 over the first `warmup_epochs` epochs (KL annealing)."""
    if warmup_epochs <= 0:
        return beta
    return beta * min(1.0, epochs_done / warmup_epochs)


def derived_seed(seed: int, stride: int, offset: int) -> int:
    """`seed * stride + offset`, wrapped into the 63 bits a torch generator takes, so every
    seed the config allows trains (the unwrapped value overflows for seeds above ~9e13)."""
    return (seed * stride + offset) % 2**63


def epoch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The shuffle of epoch `epoch`: a function of the seed and the epoch only."""
    generator = torch.Generator().manual_seed(derived_seed(seed, 100_003, epoch))
    return torch.randperm(n, generator=generator)


def step_generator(seed: int, global_step: int, device: torch.device) -> torch.Generator:
    """The noise source of one step (binarisation and reparameterisation)."""
    return torch.Generator(device).manual_seed(derived_seed(seed, 1_000_003, global_step + 1))


def adam(model: VAE, lr: float, device: torch.device) -> torch.optim.Adam:
    """Adam as one fused kernel where PyTorch has one: the same update as the default
    per-tensor loop, about 20% faster per step for the MLP on the CPU (benchmarks/run.py)."""
    fused = device.type in ("cpu", "cuda", "mps")
    return torch.optim.Adam(model.parameters(), lr=lr, fused=fused or None)


def _optimizer_fits(optimizer: torch.optim.Adam) -> bool:
    """Whether every moment Adam restored has its parameter's shape, and finite values."""
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            for value in optimizer.state.get(parameter, {}).values():
                if not isinstance(value, torch.Tensor) or not torch.isfinite(value).all():
                    return False
                if value.dim() > 0 and value.shape != parameter.shape:
                    return False
    return True


def initial_model(run_config: RunConfig) -> VAE:
    """Freshly initialised weights that depend on the seed only, not on the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(run_config.train.seed)
        return build_model(run_config.model)


class ElboObjective(nn.Module):
    """The per-image ELBO terms as a module's forward: the form DistributedDataParallel wraps,
    as it averages the gradients of what ran through a forward."""

    def __init__(self, model: VAE) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor, eps: torch.Tensor) -> ElboTerms:
        return elbo_terms(self.model, images, eps.shape[0], eps=eps)


class Trainer:
    """Trains the model of one run directory on one dataset (as one of `world`'s processes)."""

    def __init__(
        self,
        run: Run,
        dataset: Dataset,
        on_event: EventCallback | None = None,
        stop: threading.Event | None = None,
        world: World | None = None,
    ) -> None:
        self.run = run
        self.config = run.read_config()
        self.dataset = dataset
        self.on_event = on_event
        self.stop = stop or threading.Event()
        self.world = world or World()
        # The trainer's exact resume holds only on the processes the run began with.
        check_world_size(run.path, self.config.train.world_size, self.world.size)
        self.device = self.world.device(resolve_device(self.config.train.device))
        self.precision = Precision(self.config.train.precision, self.device)
        self.model = initial_model(self.config).to(self.device)
        self.optimizer = adam(self.model, self.config.train.lr, self.device)
        self.position = TrainingPosition()
        self.first_loss: float | None = None
        self._folder = run.folder_identity()  # where it writes, checked before each write
        self._append_metrics: Callable[[Event], None] = run.append_metrics
        if run.has_checkpoint():
            self._restore(run.load_checkpoint(self.config))
        self.objective = self.world.wrap(ElboObjective(self.model), self.device)

    def fit(self) -> str:
        """Train until the configured epochs are done or `stop` is set; returns the end status.

        Process 0 holds the run's lock throughout, so two jobs never train the same run
        directory, and writes it; the other processes of a distributed run only train.
        """
        if not self.world.is_main:
            return self._fit()
        with self.run.lock(), self.run.metrics_appender() as append:
            self._append_metrics = append
            return self._fit()

    def _check_folder(self) -> None:
        """Before process 0 writes by path: the run folder is still the one it began in. One
        renamed while it trains, with a new run made under its old name, would otherwise get
        this job's checkpoints and pictures (the metrics, appended through the file held
        open, follow the rename)."""
        if self.run.folder_identity() != self._folder:
            raise RunError(
                f"{self.run.path} was moved or replaced while this job trained: it stopped "
                "rather than write into what is there now; its history is in the moved folder"
            )

    def _fit(self) -> str:
        settings = self.config.train
        train_x = self.dataset.train.images.to(self.device)
        test_x = evaluation_images(self.dataset.test.images, settings.binarize, settings.seed)
        n, batch_size = len(train_x), settings.global_batch_size
        steps_per_epoch = math.ceil(n / batch_size)
        self._emit(
            kind="start",
            epoch=self.position.epoch,
            step=self.position.global_step,
            epochs=settings.epochs,
            steps_per_epoch=steps_per_epoch,
            n_train=n,
            device=str(self.device),
            resumed=self.position.global_step > 0,
            world_size=self.world.size,
            precision=settings.precision,
        )
        try:
            while self.position.epoch < settings.epochs:
                order = epoch_order(settings.seed, self.position.epoch, n).to(self.device)
                epoch_start = time.perf_counter()
                self.objective.train()
                while self.position.step_in_epoch < steps_per_epoch:
                    if self.world.any(self.stop.is_set()):
                        self._save()
                        self._emit(kind="end", status=STOPPED, epoch=self.position.epoch)
                        return STOPPED
                    start = self.position.step_in_epoch * batch_size
                    batch = order[start : start + batch_size]
                    self._step(train_x[self.world.rows(batch)], len(batch), steps_per_epoch)
                self._finish_epoch(test_x, n / (time.perf_counter() - epoch_start))
        except VaeappError as exc:
            status = DIVERGED if isinstance(exc, TrainingDiverged) else FAILED
            self._emit(kind="end", status=status, epoch=self.position.epoch, message=str(exc))
            raise
        self._emit(kind="end", status=FINISHED, epoch=self.position.epoch)
        return FINISHED

    def _step(self, images: torch.Tensor, size: int, steps_per_epoch: int) -> None:
        """One update from `images`, this process's rows of a global batch of `size` images;
        the sums of the terms are the global batch's, the same on every process."""
        settings, position = self.config.train, self.position
        started = time.perf_counter()
        images, eps = self._draws(images, size)
        with self.precision.autocast():
            terms = self.objective(images, eps)
        beta = kl_weight(
            settings.beta,
            settings.warmup_epochs,
            position.epoch + position.step_in_epoch / steps_per_epoch,
        )
        sums = torch.stack([terms.recon.sum(), terms.kl.sum()]).detach()
        recon, kl = self.world.sum(sums).tolist()
        self._check_divergence(-(recon - beta * kl) / size)
        loss = terms.loss(beta, per=size / self.world.size)
        self.optimizer.zero_grad(set_to_none=True)
        with self.world.together():  # DistributedDataParallel averages the gradients here
            self.precision.scaler.scale(loss).backward()
        self.precision.scaler.step(self.optimizer)
        self.precision.scaler.update()
        position.add({"elbo": recon - kl, "recon": recon, "kl": kl, "n": size})
        position.step_in_epoch += 1
        position.global_step += 1
        self._emit(
            kind="step",
            epoch=position.epoch + 1,
            step=position.global_step,
            elbo=(recon - kl) / size,
            recon=recon / size,
            kl=kl / size,
            beta=beta,
            img_per_s=size / (time.perf_counter() - started),
        )

    def _draws(self, images: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The step's randomness (binarisation, reparameterisation noise), drawn from the step's
        generator for the whole global batch of `size` and cut to this process's rows: N
        processes train on exactly the draws one process would."""
        settings = self.config.train
        noise = step_generator(settings.seed, self.position.global_step, self.device)
        if settings.binarize:  # Bernoulli(images): torch.bernoulli draws the same on the CPU
            uniform = torch.rand((size, *images.shape[1:]), generator=noise, device=self.device)
            images = (self.world.rows(uniform) < images).to(images.dtype)
        shape = (settings.mc_samples, size, self.config.model.latent_dim)
        eps = torch.randn(shape, generator=noise, device=self.device)
        return images, self.world.rows(eps, dim=1)

    def _finish_epoch(self, test_x: torch.Tensor, img_per_s: float) -> None:
        """The test bound (each process scores its share of the test batches; their sums and
        counts are added up), what process 0 keeps for the app to replay (the pictures, and
        the test images' posterior means, of the images as shown, grey, for the map), then the
        checkpoint, reported at once: the slow work comes first, so a kill leaves the record
        and the checkpoint agreeing on the epochs done, bar the instant of one appended line."""
        self.model.eval()
        seed = self.config.train.seed
        test = summary_of(
            self.world.sum(elbo_sums(self.model, test_x, seed=seed, part=self.world.part))
        )
        means = self.position.epoch_means()
        self.position.next_epoch()
        self._check_weights()
        report = self._epoch_outputs(test_x, seed) if self.world.is_main else {}
        self._save()
        if self.world.is_main:
            self._emit(
                kind="epoch",
                epoch=self.position.epoch,
                **means,
                test_elbo=test.elbo,
                test_recon=test.recon,
                test_kl=test.kl,
                **report,
                img_per_s=img_per_s,
            )

    def _epoch_outputs(self, test_x: torch.Tensor, seed: int) -> dict[str, Any]:
        """Process 0's pictures and replay frame of the epoch just done; its posterior's
        figures for the epoch event."""
        self._check_folder()
        mu, logvar = encode_dataset(self.model, test_x)
        binary = self.config.train.binarize
        shown = encode_dataset(self.model, self.dataset.test.images)[0] if binary else mu
        write_epoch_pictures(self.run, self.model, test_x, seed)
        self.run.save_replay(self.position.epoch, shown.numpy())
        self.run.save_replay_labels(self.dataset.test.labels.tolist(), self.dataset.classes)
        return {
            "test_kl_per_dim": kl_per_dim(mu, logvar).tolist(),
            "test_activity_per_dim": unit_activity(mu).tolist(),
            "active_units": active_units(mu),
        }

    def _check_weights(self) -> None:
        if not all(torch.isfinite(p).all() for p in self.model.parameters()):
            raise TrainingDiverged(
                f"the weights became non-finite; training stopped. {self._kept()}"
            )

    def _save(self) -> None:
        """Process 0 writes the checkpoint; every process waits until it is on disk, so none
        goes on, or ends, before it."""
        self._check_weights()
        if self.world.is_main:
            state = {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "progress": self.position.as_state(),
            }
            if self.precision.scaler.is_enabled():
                state["scaler"] = self.precision.scaler.state_dict()
            self._check_folder()
            self.run.save_checkpoint(state)
        self.world.barrier()

    def _check_divergence(self, loss: float) -> None:
        """Stop on a non-finite loss, or one EXPLOSION times the first loss of this session."""
        if self.first_loss is None:
            self.first_loss = max(abs(loss), 1.0)
        if math.isfinite(loss) and abs(loss) <= EXPLOSION * self.first_loss:
            return
        where = f"epoch {self.position.epoch + 1}, step {self.position.step_in_epoch + 1}"
        what = "became nan" if math.isnan(loss) else f"exploded to {loss:.3g}"
        raise TrainingDiverged(f"the loss {what} at {where}; training stopped. {self._kept()}")

    def _kept(self) -> str:
        if self.run.has_checkpoint():
            return "The last good checkpoint is kept. Try a lower learning rate."
        return "No checkpoint had been saved yet. Try a lower learning rate."

    def _restore(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint; one whose optimizer does not fit the model is refused."""
        where = self.run.checkpoint_path
        try:
            self.model.load_state_dict(state["model"])
        except (RuntimeError, TypeError, ValueError):
            raise CheckpointError(f"{where} does not match the run's config.json") from None
        if "optimizer" in state:
            try:
                self.optimizer.load_state_dict(state["optimizer"])
            except (RuntimeError, TypeError, ValueError, KeyError, IndexError):
                raise CheckpointError(f"{where}: its optimizer state is damaged") from None
            if not _optimizer_fits(self.optimizer):
                raise CheckpointError(f"{where}: its optimizer state does not fit the model")
        if "scaler" in state and self.precision.scaler.is_enabled():
            try:
                self.precision.scaler.load_state_dict(state["scaler"])
            except (RuntimeError, TypeError, ValueError, KeyError):
                raise CheckpointError(f"{where}: its fp16 grad scaler state is damaged") from None
        if "progress" in state:
            self.position = TrainingPosition.from_state(state["progress"])

    def _emit(self, **event: Any) -> None:
        """Process 0 reports: metrics.jsonl and the callback hear each event once."""
        if not self.world.is_main:
            return
        event["time"] = time.time()
        self._append_metrics(event)
        if self.on_event is not None:
            self.on_event(event)
