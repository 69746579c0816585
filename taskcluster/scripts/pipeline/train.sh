#!/usr/bin/env bash
# Train one Marian model: the backward model, a teacher or the student.
#
#   train.sh MODEL SRC TRG CORPUS_DIR DEVSET_DIR OUTPUT_DIR BEST_MODEL -- MARIAN_ARGS...
#
# MODEL picks configs/MODEL.yml; the arguments after `--` (from the
# training config's marian-args) override it. GPUS and WORKSPACE come from
# the worker's environment. Placeholder: prints the Marian call.
set -euo pipefail
[ $# -ge 8 ] && [ "$8" = -- ] || {
    echo "usage: $0 MODEL SRC TRG CORPUS_DIR DEVSET_DIR OUTPUT_DIR BEST_MODEL -- MARIAN_ARGS..." >&2
    exit 64
}
model="$1" src="$2" trg="$3" corpus="$4" devset="$5" output="$6" best="$7"
shift 8
config="$(dirname "$0")/configs/$model.yml"
[ -f "$config" ] || { echo "no such model configuration: $config" >&2; exit 64; }
echo "would train $model $src-$trg on $corpus (validated on $devset) with $config $*"
echo "on GPUs ${GPUS:-?} with workspace ${WORKSPACE:-?}; keeping the best $best checkpoint as $output/model.npz"
