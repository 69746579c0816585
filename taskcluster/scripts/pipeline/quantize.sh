#!/usr/bin/env bash
# Quantize the student to 8-bit integers for CPU inference, tuning the
# quantization on the devset.
#
#   quantize.sh MODEL VOCAB DEVSET OUTPUT_DIR
#
# Placeholder: prints the steps.
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 MODEL VOCAB DEVSET OUTPUT_DIR" >&2; exit 64; }
echo "would quantize $1 (vocabulary $2), tuned on $3, to $4/model.intgemm.bin"
