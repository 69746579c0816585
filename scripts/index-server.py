#!/usr/bin/env python3
"""A loopback stand-in for Taskcluster's index and queue, for golden files.

Serves the two batched endpoints taskgraph's optimizer calls:

    POST /api/index/v1/tasks/indexes   {"indexes": [...]}  -> {"tasks": [...]}
    POST /api/queue/v1/tasks/status    {"taskIds": [...]}  -> {"statuses": [...]}

from an index snapshot file, the format graphgen's `--index FILE` reads:

    {"<index path>": {"taskId": "...", "state": "completed", "expires": "..."}}

Answers come two to a page, with a continuation token, so that callers
must page. Usage: index-server.py SNAPSHOT PORT_FILE; the chosen port is
written to PORT_FILE once the server listens.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PAGE = 2


def load(path):
    with open(path) as f:
        snapshot = json.load(f)
    tasks = {path: entry["taskId"] for path, entry in snapshot.items()}
    statuses = {
        entry["taskId"]: {
            "taskId": entry["taskId"],
            "state": entry["state"],
            "expires": entry["expires"],
        }
        for entry in snapshot.values()
    }
    return tasks, statuses


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        url = urlparse(self.path)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        start = int(parse_qs(url.query).get("continuationToken", ["0"])[0])
        if url.path == "/api/index/v1/tasks/indexes":
            found = [
                {"namespace": p, "taskId": self.server.tasks[p], "rank": 0, "data": {}}
                for p in body["indexes"]
                if p in self.server.tasks
            ]
            key = "tasks"
        elif url.path == "/api/queue/v1/tasks/status":
            found = [
                {"taskId": t, "status": self.server.statuses[t]}
                for t in body["taskIds"]
                if t in self.server.statuses
            ]
            key = "statuses"
        else:
            self.send_error(404)
            return
        page = {key: found[start : start + PAGE]}
        if start + PAGE < len(found):
            page["continuationToken"] = str(start + PAGE)
        data = json.dumps(page).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    snapshot, port_file = sys.argv[1], sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.tasks, server.statuses = load(snapshot)
    with open(port_file, "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
