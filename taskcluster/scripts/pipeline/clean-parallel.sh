#!/usr/bin/env bash
# Clean one parallel corpus: rule-based filters (configs/filters.json),
# then drop sentence pairs that bicleaner scores below the threshold.
#
#   clean-parallel.sh INPUT_PREFIX OUTPUT_PREFIX SRC TRG THRESHOLD
#
# Placeholder: prints the steps.
set -euo pipefail
[ $# -eq 5 ] || { echo "usage: $0 INPUT_PREFIX OUTPUT_PREFIX SRC TRG THRESHOLD" >&2; exit 64; }
input="$1" output="$2" src="$3" trg="$4" threshold="$5"
echo "would filter $input.{$src,$trg}.zst with $(dirname "$0")/configs/filters.json"
echo "would keep pairs scoring at least $threshold, writing $output.{$src,$trg}.zst"
