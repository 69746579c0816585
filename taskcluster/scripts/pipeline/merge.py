#!/usr/bin/env python3
"""Merge corpora into one: concatenate, deduplicate and cap the number of
lines. Used for the training corpus, the devset and the monolingual text
of each side.

    merge.py --name NAME --max-lines N --output DIR FILE...

Placeholder: prints what it would merge.
"""

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--max-lines", type=int, required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args()
    print(f"would merge {len(args.inputs)} files into {args.output}/{args.name}, "
          f"at most {args.max_lines} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
