#!/usr/bin/env python3
"""Translate a test set with a model and score it (BLEU, chrF, COMET).

    evaluate.py --model MODEL --vocab VOCAB --dataset PREFIX --src SRC
                --trg TRG --output DIR

Placeholder: prints what it would score.
"""

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    for option in ("--model", "--vocab", "--dataset", "--src", "--trg", "--output"):
        parser.add_argument(option, required=True)
    args = parser.parse_args()
    print(f"would translate {args.dataset}.{args.src}.zst with {args.model} and score it "
          f"against {args.dataset}.{args.trg}.zst; metrics to {args.output}/metrics.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
