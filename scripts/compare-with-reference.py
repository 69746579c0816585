#!/usr/bin/env python3
"""Compares graphgen with the Python reference, task by task, on any
taskgraph project (the translations snapshot, for example).

    compare-with-reference.py PROJECT PARAMS... [--phases full,target]
                              [--index SNAPSHOT] [-k KIND]...

PROJECT is a git checkout holding `taskcluster/`; each PARAMS a parameters
file (relative to PROJECT or absolute). For each params file and phase
(`full`, `target`, `target-graph`, `optimized`, `morphed`), both tools print
the phase as JSON and the tasks are compared; the script prints identical /
total per phase, the time each tool took, and the first difference of each
differing task (at most ten a phase). It exits non-zero if anything differs.

`optimized` and `morphed` need an index: both tools ask the same loopback
index and queue (index-server.py) answering from SNAPSHOT (`{}`, the
default, misses everything): the reference through TASKCLUSTER_ROOT_URL,
graphgen through `--index taskcluster`, so its online lookups are what is
compared. Their task ids are random, so each is replaced by `<task LABEL>`
on both sides and `task.dependencies` sorted again.

Environment: GRAPHGEN_REFERENCE_VENV (default .venv-ref), GRAPHGEN (default
target/release/graphgen), GRAPHGEN_RUN_TASK_DIR (default our run-task;
its four files are copied into the reference's package where they differ,
since both tools hash them).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PHASES = ("full", "target", "target-graph", "optimized", "morphed")
KEYED_BY_TASK_ID = ("optimized", "morphed")


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


def use_our_run_task(venv, run_task_dir):
    """Puts the run-task files graphgen reads into the reference's package.

    Run-task cache names and the contexts of images with
    `# %include-run-task` hash these files (the contexts with their modes),
    so both tools must read the same ones, or every such task differs for a reason that is not a difference.
    """
    package = subprocess.run(
        [str(venv / "bin/python"), "-c", "import os, taskgraph; print(os.path.dirname(taskgraph.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for name in ("run-task", "fetch-content", "hgrc", "robustcheckout.py"):
        ours = Path(run_task_dir) / name
        theirs = Path(package) / "run-task" / name
        same_mode = ours.stat().st_mode == theirs.stat().st_mode
        if not same_mode or ours.read_bytes() != theirs.read_bytes():
            print(f"copying {ours} over the reference's {theirs}", file=sys.stderr)
            shutil.copy2(ours, theirs)


def run(command, cwd, env):
    started = time.monotonic()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        return None, result.stderr.strip().splitlines()[-1:] or ["(no message)"], elapsed
    return result.stdout, None, elapsed


def parse(text, phase):
    """The phase's tasks by label (a target set is a list of labels)."""
    text = text[min(i for i in (text.find("{"), text.find("[")) if i >= 0) :]
    if phase not in KEYED_BY_TASK_ID:
        graph = json.loads(text)
        if isinstance(graph, list):
            return {label: True for label in graph}
        return graph
    graph = json.loads(text)
    for task_id, task in sorted(graph.items(), key=lambda item: -len(item[0])):
        text = text.replace(task_id, f"<task {task['label']}>")
    graph = json.loads(text)
    for task in graph.values():
        task["task"].get("dependencies", []).sort()
    return graph


def first_difference(ours, theirs, path=""):
    if type(ours) is not type(theirs):
        return f"{path or '.'}: graphgen {json.dumps(ours)[:100]} / reference {json.dumps(theirs)[:100]}"
    if isinstance(ours, dict):
        for key in list(theirs) + [k for k in ours if k not in theirs]:
            if key not in ours or key not in theirs:
                return f"{path}.{key}: only in {'graphgen' if key in ours else 'reference'}"
            found = first_difference(ours[key], theirs[key], f"{path}.{key}")
            if found:
                return found
        if list(ours) != list(theirs):
            return f"{path or '.'}: keys in another order"
        return None
    if isinstance(ours, list):
        for i, (a, b) in enumerate(zip(ours, theirs)):
            found = first_difference(a, b, f"{path}[{i}]")
            if found:
                return found
        if len(ours) != len(theirs):
            return f"{path}: graphgen has {len(ours)} items, the reference {len(theirs)}"
        return None
    if ours == theirs:
        return None
    return f"{path or '.'}: graphgen {json.dumps(ours)[:100]} / reference {json.dumps(theirs)[:100]}"


def compare(phase, ours, theirs):
    same = [label for label in theirs if label in ours and ours[label] == theirs[label]]
    differing = []
    for label in list(theirs) + [l for l in ours if l not in theirs]:
        if label in same:
            continue
        if label not in ours or label not in theirs:
            differing.append(f"{label}: only in {'reference' if label in theirs else 'graphgen'}")
        else:
            differing.append(f"{label}: {first_difference(ours[label], theirs[label])}")
    # Graphs keyed by random task ids have no order to compare.
    if not differing and phase not in KEYED_BY_TASK_ID and list(ours) != list(theirs):
        differing.append("(every task agrees, but in another order)")
    return len(same), differing


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project")
    parser.add_argument("params", nargs="+")
    parser.add_argument("--phases", default="full,target")
    parser.add_argument("--index", default=None, help="index snapshot for optimized/morphed")
    parser.add_argument("-k", "--target-kind", action="append", default=[])
    args = parser.parse_args()
    phases = args.phases.split(",")
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        sys.exit(f"unknown phases {unknown}; known: {', '.join(PHASES)}")

    venv = Path(os.environ.get("GRAPHGEN_REFERENCE_VENV", REPO / ".venv-ref"))
    graphgen = os.environ.get("GRAPHGEN", str(REPO / "target/release/graphgen"))
    env = dict(os.environ)
    for name in ("TASK_ID", "MOZ_AUTOMATION", "TASKCLUSTER_PROXY_URL"):
        env.pop(name, None)
    env.setdefault("GRAPHGEN_RUN_TASK_DIR", str(REPO / "taskcluster/scripts/run-task"))
    env.setdefault("TASKCLUSTER_ROOT_URL", "https://tc.example.com")
    use_our_run_task(venv, env["GRAPHGEN_RUN_TASK_DIR"])
    kinds = [arg for kind in args.target_kind for arg in ("-k", kind)]

    failed = False
    with tempfile.TemporaryDirectory() as scratch:
        server = None
        if any(p in KEYED_BY_TASK_ID for p in phases):
            snapshot = args.index or str(Path(scratch) / "empty-index.json")
            if not args.index:
                Path(snapshot).write_text("{}")
            server, env["TASKCLUSTER_ROOT_URL"] = start_index(os.path.abspath(snapshot), scratch)
        try:
            for params in args.params:
                for phase in phases:
                    common = [phase, "--root", "taskcluster", "-p", params, *kinds, "--json"]
                    extra = ["--index", "taskcluster"] if phase in KEYED_BY_TASK_ID else []
                    theirs, their_error, their_time = run(
                        [str(venv / "bin/taskgraph"), *common], args.project, env
                    )
                    ours, our_error, our_time = run([graphgen, *common, *extra], args.project, env)
                    head = f"{Path(params).name} {phase}:"
                    if their_error or our_error:
                        failed = failed or bool(their_error) != bool(our_error)
                        print(f"{head} reference {their_error or 'ok'}; graphgen {our_error or 'ok'}")
                        continue
                    theirs, ours = parse(theirs, phase), parse(ours, phase)
                    same, differing = compare(phase, ours, theirs)
                    ratio = their_time / our_time if our_time else float("inf")
                    print(
                        f"{head} {same}/{len(theirs)} identical (graphgen {len(ours)}); "
                        f"reference {their_time:.2f} s, graphgen {our_time:.3f} s ({ratio:.0f}x)"
                    )
                    for line in differing[:10]:
                        print(f"  {line}")
                    if len(differing) > 10:
                        print(f"  ... and {len(differing) - 10} more")
                    failed = failed or bool(differing)
        finally:
            if server:
                server.kill()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
