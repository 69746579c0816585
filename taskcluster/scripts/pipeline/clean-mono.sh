#!/usr/bin/env bash
# Clean one monolingual dataset: language identification, then a fluency
# (monocleaner) threshold and, for web crawls, a minimum document score.
#
#   clean-mono.sh INPUT OUTPUT LOCALE THRESHOLD MIN_DOC_SCORE
#
# Placeholder: prints the steps.
set -euo pipefail
[ $# -eq 5 ] || { echo "usage: $0 INPUT OUTPUT LOCALE THRESHOLD MIN_DOC_SCORE" >&2; exit 64; }
echo "would keep $3 lines of $1 scoring at least $4 (documents scoring at least $5) in $2"
