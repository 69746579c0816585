#!/usr/bin/env python3
"""Golden `existing_tasks` for previous-group-ids, from the translations
train action itself.

    previous-groups-reference.py TRANSLATIONS_TASKCLUSTER_DIR CASES_DIR

CASES_DIR holds `groups/`, saved listTaskGroup responses (`<group
id>.json`, the files graphgen's `--task-groups DIR` reads), and
`cases.json`:

    {"CASE": {"previous-group-ids": [...], "start-task-prefix": "...",
              "existing_tasks": {...}}}

For each case this serves the groups on a loopback queue (the three
endpoints the action and taskgraph's get_ancestors call: listTaskGroup,
task definitions, listDependentTasks), runs the action's
`get_train_parameters` against it, and writes the `existing_tasks` it
computed to CASES_DIR/expected/CASE.json.

Run it with the reference virtualenv's python (taskcluster-taskgraph
15.1.3 and the taskcluster client), with TRANSLATIONS_TASKCLUSTER_DIR the
`taskcluster/` directory of a mozilla/translations checkout.
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def load_groups(groups_dir):
    groups = {}
    for path in sorted(groups_dir.glob("*.json")):
        listing = json.loads(path.read_text())
        groups[listing["taskGroupId"]] = listing
    return groups


def make_handler(groups):
    entries = [entry for listing in groups.values() for entry in listing["tasks"]]
    by_id = {entry["status"]["taskId"]: entry for entry in entries}

    class Queue(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            parts = self.path.split("?")[0].strip("/").split("/")
            if parts[:3] != ["api", "queue", "v1"]:
                return self.answer(404, {"message": "unknown service"})
            rest = parts[3:]
            if len(rest) == 3 and rest[0] == "task-group" and rest[2] == "list":
                listing = groups.get(rest[1])
                if listing is None:
                    return self.answer(404, {"message": "no such task group"})
                return self.answer(200, listing)
            if len(rest) == 2 and rest[0] == "task" and rest[1] in by_id:
                return self.answer(200, by_id[rest[1]]["task"])
            if len(rest) == 3 and rest[0] == "task" and rest[2] == "dependents":
                dependents = [
                    entry
                    for entry in entries
                    if rest[1] in entry["task"]["dependencies"]
                ]
                return self.answer(200, {"taskId": rest[1], "tasks": dependents})
            return self.answer(404, {"message": "no such task"})

    return Queue


def main():
    translations_dir, cases_dir = Path(sys.argv[1]), Path(sys.argv[2])
    groups = load_groups(cases_dir / "groups")
    cases = json.loads((cases_dir / "cases.json").read_text())

    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(groups))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["TASKCLUSTER_ROOT_URL"] = f"http://127.0.0.1:{server.server_port}"

    sys.path.insert(0, str(translations_dir))
    from translations_taskgraph.actions import train

    # Only the existing_tasks computation is wanted: the parameters stay a
    # plain dict, and the training config is not a real one.
    train.Parameters = dict
    train.validate_continuation = lambda parameters: None

    expected = cases_dir / "expected"
    expected.mkdir(exist_ok=True)
    for name, config in cases.items():
        # Each case starts without the lookups of the one before.
        from taskgraph.util import taskcluster as tc_util

        tc_util.get_task_definition.cache_clear()
        tc_util._get_deps.cache_clear()
        params = train.get_train_parameters({"existing_tasks": {}}, dict(config))
        out = expected / f"{name}.json"
        out.write_text(json.dumps(params["existing_tasks"], indent=2) + "\n")
        print(f"{out}: {len(params['existing_tasks'])} tasks")
    server.shutdown()


if __name__ == "__main__":
    main()
