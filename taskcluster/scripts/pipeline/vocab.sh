#!/usr/bin/env bash
# Train the SentencePiece vocabulary on a sample of the merged corpus.
#
#   vocab.sh CORPUS_SRC CORPUS_TRG OUTPUT_DIR SAMPLE_SIZE VOCAB_SIZE SPLIT NORM_RULE
#
# SPLIT is True for one vocabulary per language, False for a shared one.
# Placeholder: prints the spm_train call.
set -euo pipefail
[ $# -eq 7 ] || { echo "usage: $0 CORPUS_SRC CORPUS_TRG OUTPUT_DIR SAMPLE_SIZE VOCAB_SIZE SPLIT NORM_RULE" >&2; exit 64; }
echo "would run spm_train on $4 sentences of $1 and $2: vocab size $5, split $6, normalization $7"
echo "would write $3/vocab.spm"
