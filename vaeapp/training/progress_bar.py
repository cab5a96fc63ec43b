"""A terminal progress bar for training events (tqdm): epoch, ELBO, images/s and ETA."""

from __future__ import annotations

from tqdm import tqdm

from vaeapp.store.events import Event


class ProgressBar:
    """Turns the trainer's events into one tqdm bar over all steps of the run."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None
        self.epochs = 0

    def __call__(self, event: Event) -> None:
        kind = event["kind"]
        if kind == "start":
            self.epochs = event["epochs"]
            total = event["epochs"] * event["steps_per_epoch"]
            done = event.get("step", event["epoch"] * event["steps_per_epoch"])
            self.bar = tqdm(total=total, initial=done, unit="step", dynamic_ncols=True)
            tqdm.write(f"training on {event['n_train']} images, device {event['device']}")
        elif self.bar is None:
            return
        elif kind == "step":
            self.bar.set_description(f"epoch {event['epoch']}/{self.epochs}", refresh=False)
            self.bar.set_postfix(elbo=f"{event['elbo']:.1f}", img_s=f"{event['img_per_s']:.0f}")
            self.bar.update(1)
        elif kind == "epoch":
            tqdm.write(
                f"epoch {event['epoch']}: train ELBO {event['train_elbo']:.2f}, "
                f"test ELBO {event['test_elbo']:.2f} (recon {event['test_recon']:.2f}, "
                f"KL {event['test_kl']:.2f}), {event['img_per_s']:.0f} images/s"
            )
        elif kind == "end":
            self.bar.close()
