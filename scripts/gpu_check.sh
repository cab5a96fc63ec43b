#!/usr/bin/env bash
# The GPU check: vaeapp's CLI on CUDA, a few epochs of full Fashion-MNIST in fp32, bf16 and fp16
# for the conv and the mlp network, then a torchrun smoke over NCCL (one process per GPU, at
# most two). Installs nothing; about 3 minutes on one H100, and never more than 5.5 (a run that
# would pass that budget is cut short and reported as such).
#
#   bash scripts/gpu_check.sh [FASHION_MNIST_DIR]
#
# FASHION_MNIST_DIR holds the four IDX files (gzipped or not); by default ./fashion-mnist in
# the checkout, else ../fashion-mnist beside it. PYTHON picks the interpreter (default python3;
# e.g. PYTHON=.venv/bin/python), EPOCHS the epochs per run (default 3); DEVICE=cpu makes a dry
# run of the script itself on a machine without a GPU (fp16 then fails). Progress goes to
# stderr; stdout gets one JSON line, also written to $OUT/gpu_check.json when OUT is set:
#   {"device": ..., "torch": ..., "epochs": 3, "runs": {"conv/fp32": {"img_per_s": ...,
#    "test_elbo": ..., "wall_s": ...}, ...}, "torchrun_nccl": {...}}
# img_per_s is the trainer's rate over its step loop (median over the epochs after the first);
# a run that fails has "error" (its last line of output) instead.
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
epochs="${EPOCHS:-3}"
device="${DEVICE:-cuda}"
deadline=$(( $(date +%s) + 330 ))
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"

fail() { echo "gpu_check: $*" >&2; exit 1; }

data="${1:-}"
if [ -z "$data" ]; then
  for candidate in "$repo/fashion-mnist" "$repo/../fashion-mnist"; do
    [ -d "$candidate" ] && data="$candidate" && break
  done
fi
[ -n "$data" ] && [ -d "$data" ] || fail "no Fashion-MNIST folder: give it as the first argument"
data="$(cd "$data" && pwd)"

command -v "$python" >/dev/null || fail "$python not found; set PYTHON to an interpreter with torch"
missing="$("$python" - <<'EOF'
import importlib.util
print(" ".join(m for m in ("torch", "numpy", "PIL", "scipy", "tqdm") if not importlib.util.find_spec(m)))
EOF
)" || fail "$python does not run"
[ -z "$missing" ] || fail "$python lacks: $missing (nothing is installed from the internet here)"
[ "$device" = cpu ] || "$python" -c "import torch, sys; sys.exit(not torch.cuda.is_available())" \
  || fail "torch.cuda is unavailable to $python ($("$python" -c 'import torch; print("torch", torch.__version__, "built for CUDA", torch.version.cuda)')): run this on a CUDA machine"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$repo"

train() {  # name, then launcher and CLI arguments; records the wall time and the output
  local name="$1"; shift
  local started left; started="$(date +%s.%N)"; left=$(( deadline - $(date +%s) ))
  echo "gpu_check: $name" >&2
  if [ "$left" -lt 20 ]; then
    echo "vaeapp: error: skipped, the check's 5.5 minutes are spent" > "$work/$name.log"
    echo "124 $started $started" > "$work/$name.status"
    return
  fi
  timeout "$(( left < 150 ? left : 150 ))" "$@" --data "idx:$data" --device "$device" \
    --epochs "$epochs" --quiet --out "$work/$name" > "$work/$name.log" 2>&1
  echo "$? $started $(date +%s.%N)" > "$work/$name.status"
}

for arch in conv mlp; do
  model=(--arch "$arch")
  [ "$arch" = mlp ] && model+=(--hidden 512,256 --latent-dim 20)
  for precision in fp32 bf16 fp16; do
    train "$arch-$precision" "$python" -m vaeapp train "${model[@]}" --precision "$precision"
  done
done
gpus="$("$python" -c 'import torch; print(min(2, max(1, torch.cuda.device_count())))')"
train torchrun-nccl "$python" -m torch.distributed.run --standalone --nproc_per_node "$gpus" \
  -m vaeapp train --arch mlp --precision bf16

"$python" - "$work" "$epochs" "$gpus" "$device" <<'EOF' | tee "${OUT:-$work}/gpu_check.json"
import json, statistics, sys
from pathlib import Path

import torch

from vaeapp.store.runs import Run

work, epochs, gpus, device = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]


def result(name):
    code, started, ended = (work / f"{name}.status").read_text().split()
    figures = {"wall_s": round(float(ended) - float(started), 1)}
    run = Run(work / name)
    seen = [e for e in run.read_metrics() if e["kind"] == "epoch"] if run.exists() else []
    if code != "0" or len(seen) < epochs:
        lines = (work / f"{name}.log").read_text(errors="replace").strip().splitlines()
        errors = [line for line in lines if line.startswith("vaeapp: error:")]
        return {**figures, "exit": int(code), "error": (errors or lines or ["no output"])[-1]}
    rates = [e["img_per_s"] for e in seen[1:] or seen]
    return {
        **figures,
        "img_per_s": round(statistics.median(rates)),
        "test_elbo": round(seen[-1]["test_elbo"], 2),
    }


runs = {f"{a}/{p}": result(f"{a}-{p}") for a in ("conv", "mlp") for p in ("fp32", "bf16", "fp16")}
print(json.dumps({
    "device": torch.cuda.get_device_name(0) if device == "cuda" else device,
    "torch": torch.__version__,
    "epochs": epochs,
    "runs": runs,
    "torchrun_nccl": {"processes": gpus, "arch": "mlp", "precision": "bf16",
                      **result("torchrun-nccl")},
}))
EOF
