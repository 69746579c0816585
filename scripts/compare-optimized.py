#!/usr/bin/env python3
"""Compares graphgen's optimized graph with the Python reference's, task by
task, on any project (the translations snapshot, for example).

    compare-optimized.py PROJECT PARAMS SNAPSHOT [-k KIND]...

PROJECT is a git checkout holding `taskcluster/`; PARAMS a parameters file
(relative to PROJECT or absolute); SNAPSHOT an index snapshot (the JSON
`--index FILE` reads; `{}` for an index where everything misses). Both
tools run against the same loopback index and queue (index-server.py)
answering from SNAPSHOT: the reference through TASKCLUSTER_ROOT_URL,
graphgen through `--index taskcluster`, so its online lookups are what is
compared.

Task ids are random, so each is replaced by `<task LABEL>` on both sides
(ids of replacing tasks stay, since they come from the snapshot), and
`task.dependencies` is sorted again. Prints how many tasks each side has,
how many are identical, and the first differences.

Environment: GRAPHGEN_REFERENCE_VENV (default .venv-ref), GRAPHGEN (default
target/release/graphgen), GRAPHGEN_RUN_TASK_DIR (default our run-task).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def start_index(snapshot, scratch):
    port_file = Path(scratch) / "port"
    server = subprocess.Popen(
        [sys.executable, str(REPO / "scripts/index-server.py"), snapshot, str(port_file)]
    )
    for _ in range(200):
        if port_file.exists() and port_file.read_text().strip():
            return server, f"http://127.0.0.1:{port_file.read_text().strip()}"
        time.sleep(0.05)
    server.kill()
    sys.exit("index-server.py did not start")


def run(command, cwd, env):
    started = time.monotonic()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-4000:])
        sys.exit(f"failed: {' '.join(command)}")
    return result.stdout, result.stderr, elapsed


def normalized(text):
    text = text[text.index("{") :]
    graph = json.loads(text)
    for task_id, task in sorted(graph.items(), key=lambda item: -len(item[0])):
        text = text.replace(task_id, f"<task {task['label']}>")
    graph = json.loads(text)
    for task in graph.values():
        task["task"].get("dependencies", []).sort()
    return graph


def first_difference(a, b, path=""):
    if type(a) is not type(b):
        return f"{path}: {json.dumps(a)[:120]} != {json.dumps(b)[:120]}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: only in {'graphgen' if key in a else 'reference'}"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {json.dumps(a)[:120]} != {json.dumps(b)[:120]}"


def main():
    args = sys.argv[1:]
    if len(args) < 3:
        sys.exit(__doc__)
    project, params, snapshot = args[0], args[1], os.path.abspath(args[2])
    kinds = args[3:]

    venv = Path(os.environ.get("GRAPHGEN_REFERENCE_VENV", REPO / ".venv-ref"))
    graphgen = os.environ.get("GRAPHGEN", str(REPO / "target/release/graphgen"))
    env = dict(os.environ)
    env.pop("TASK_ID", None)
    env.pop("MOZ_AUTOMATION", None)
    env.setdefault("GRAPHGEN_RUN_TASK_DIR", str(REPO / "taskcluster/scripts/run-task"))

    with tempfile.TemporaryDirectory() as scratch:
        server, root = start_index(snapshot, scratch)
        env["TASKCLUSTER_ROOT_URL"] = root
        try:
            common = ["--root", "taskcluster", "-p", params, *kinds]
            ref_out, _, ref_time = run(
                [str(venv / "bin/taskgraph"), "optimized", *common, "--json"], project, env
            )
            ours_out, _, our_time = run(
                [graphgen, "optimized", *common, "--json", "--index", "taskcluster"],
                project,
                env,
            )
            _, summary, _ = run(
                [graphgen, *common, "--index", "taskcluster", "--output-dir", scratch + "/out"],
                project,
                env,
            )
        finally:
            server.kill()

    reference, ours = normalized(ref_out), normalized(ours_out)
    same = [label for label in reference if label in ours and reference[label] == ours[label]]
    print(f"reference: {len(reference)} tasks in {ref_time:.2f} s; graphgen: {len(ours)} in {our_time:.2f} s")
    print(f"identical: {len(same)}/{len(reference)}")
    for line in summary.splitlines():
        if line.startswith(("optimization:", "previous groups:")):
            print(f"graphgen {line}")
    shown = 0
    for label in sorted(set(reference) | set(ours)):
        if label in same:
            continue
        shown += 1
        if shown > 10:
            print("...")
            break
        if label not in ours or label not in reference:
            print(f"  {label}: only in {'reference' if label in reference else 'graphgen'}")
        else:
            print(f"  {label}: {first_difference(ours[label], reference[label])}")
    sys.exit(0 if len(same) == len(reference) == len(ours) else 1)


if __name__ == "__main__":
    main()
