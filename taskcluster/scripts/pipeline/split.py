#!/usr/bin/env python3
"""Split a text file into N chunks of whole lines (file.1.zst ...
file.N.zst), so that N translation tasks can share the work.

    split.py --chunks N --output DIR INPUT

Placeholder: prints the chunk names.
"""

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("input")
    args = parser.parse_args()
    for chunk in range(1, args.chunks + 1):
        print(f"would write {args.output}/file.{chunk}.zst from {args.input}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
