#!/usr/bin/env python3
"""Import one dataset: a parallel corpus (--src and --trg) or monolingual
text (--locale), written as zstd-compressed text files named after the
dataset.

Placeholder: it prints what it would fetch. Provider-specific download
code lives next to it (opus.py); other providers go through a generic
HTTP download here.
"""

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--provider", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--src")
    parser.add_argument("--trg")
    parser.add_argument("--locale")
    parser.add_argument("--max-sentences", type=int)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    if args.locale is None and (args.src is None or args.trg is None):
        parser.error("give --locale for monolingual text, or --src and --trg")
    sides = [args.locale] if args.locale else [args.src, args.trg]
    for side in sides:
        print(f"would import {args.provider}:{args.dataset} ({side}) to {args.output}.{side}.zst")
    return 0


if __name__ == "__main__":
    sys.exit(main())
