"""The arithmetic a training step uses: fp32, or mixed precision with bf16 or fp16 autocast.

Under autocast the network's matrix multiplies and convolutions run in 16 bits, while the
weights, Adam's moments, the loss and the KL stay in fp32 (`VAE.encode` and `VAE.decode` hand
back fp32). bf16 keeps fp32's exponent range, so it needs no loss scaling; it is offered on CUDA
and on CPUs with native bf16 arithmetic, where it is faster than fp32 (elsewhere it is emulated,
and slower). fp16's narrow range needs a grad scaler, which PyTorch keeps for CUDA.
"""

from __future__ import annotations

import torch

from vaeapp.errors import ConfigError

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def native_cpu_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX-512 BF16 or AMX), as oneDNN uses it."""
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse a precision this device cannot run, or would run slower than fp32."""
    if precision == "fp32":
        return
    if device.type == "cuda":
        if precision == "bf16" and not torch.cuda.is_bf16_supported():
            raise ConfigError("this GPU has no bf16 arithmetic; use --precision fp16 or fp32")
    elif device.type == "cpu" and precision == "fp16":
        raise ConfigError(
            "fp16 needs a CUDA GPU (for its grad scaler); on the CPU use bf16 or fp32"
        )
    elif device.type == "cpu" and not native_cpu_bf16():
        raise ConfigError(
            "this CPU has no native bf16 arithmetic (AVX-512 BF16 or AMX), so bf16 would "
            "train slower than fp32; use --precision fp32"
        )
    elif device.type != "cpu":
        raise ConfigError(
            f"{precision} trains on CUDA GPUs (bf16 also on CPUs with native bf16), not on "
            f"{device.type.upper()}; use --precision fp32"
        )


class Precision:
    """Autocast for the forward pass, and the grad scaler fp16 needs (a no-op otherwise)."""

    def __init__(self, precision: str, device: torch.device) -> None:
        check_precision(precision, device)
        self.name = precision
        self.device = device
        self.scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")

    def autocast(self) -> torch.autocast:
        """The forward pass in the chosen precision; backward follows the same casts."""
        dtype = AUTOCAST_DTYPES.get(self.name, torch.float32)
        return torch.autocast(self.device.type, dtype=dtype, enabled=self.name != "fp32")
