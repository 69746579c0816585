#!/usr/bin/env bash
# Put translated chunks back together, in chunk order, and pair them with
# the text they translate.
#
#   collect.sh CHUNKS_DIR ORIGINAL OUTPUT
#
# Placeholder: prints what it would join.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 CHUNKS_DIR ORIGINAL OUTPUT" >&2; exit 64; }
echo "would join $1/*.out.zst in chunk order, pair them with $2 and write $3"
