#!/usr/bin/env bash
# Package the quantized model with its vocabulary for release.
#
#   export.sh MODEL VOCAB SRC TRG OUTPUT_DIR
#
# Placeholder: prints the archive it would write.
set -euo pipefail
[ $# -eq 5 ] || { echo "usage: $0 MODEL VOCAB SRC TRG OUTPUT_DIR" >&2; exit 64; }
echo "would pack $1 and $2 into $5/model-$3$4.tar.zst"
