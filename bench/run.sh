#!/usr/bin/env bash
# One command for the encoder benchmark table (not a test): TorchSharp vs ONNX Runtime vs PyTorch, same weights, same run.
# Installs Debian's python3-torch (+ OpenBLAS) when missing: it generates the random-weight checkpoints and ONNX files
# and is the PyTorch peer. Extra arguments go to the bench (e.g. --shapes tiny --iters 20).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-torch python3-numpy libopenblas0-pthread >/dev/null
fi
dotnet run -c Release --project bench/MlNetLlm.Bench -- "$@"
