#!/usr/bin/env bash
# Translate one chunk with one model or an ensemble (every model.npz found
# under MODELS_DIR), writing CHUNK's translations as file.N.out.zst.
#
#   translate.sh CHUNK MODELS_DIR VOCAB OUTPUT_DIR -- MARIAN_ARGS...
#
# Placeholder: prints the marian-decoder call.
set -euo pipefail
[ $# -ge 5 ] && [ "$5" = -- ] || { echo "usage: $0 CHUNK MODELS_DIR VOCAB OUTPUT_DIR -- MARIAN_ARGS..." >&2; exit 64; }
chunk="$1" models="$2" vocab="$3" output="$4"
shift 5
echo "would translate $chunk with the models under $models (vocabulary $vocab) on GPUs ${GPUS:-?}: $*"
echo "would write $output/$(basename "${chunk%.zst}").out.zst"
