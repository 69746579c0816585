#!/bin/sh
# Compares graphgen with the Python reference on every parameters file in
# this directory and on the snapshot's own two test parameters.
#
#     tests/translations-params/compare.sh [PROJECT] [PHASES]
#
# PROJECT is a mozilla/translations checkout (default /tmp/tr), PHASES the
# phases for scripts/compare-with-reference.py (default
# full,target,target-graph). model-server.py answers the pretrained-model
# URL checks on 127.0.0.1:18765 while it runs. GRAPHGEN and
# GRAPHGEN_REFERENCE_VENV are passed on to the comparison script. The exit
# status is the comparison's: 0 when every file agrees (error-*.yml files
# agree when both tools fail).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
project=${1:-/tmp/tr}
phases=${2:-full,target,target-graph}

python3 "$here/model-server.py" 18765 2>/dev/null &
server=$!
trap 'kill "$server"' EXIT INT TERM
python3 - <<'WAIT'
import socket, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", 18765), timeout=0.2).close()
        break
    except OSError:
        time.sleep(0.05)
else:
    raise SystemExit("model-server.py did not start")
WAIT

cd "$repo"
python3 scripts/compare-with-reference.py "$project" \
    taskcluster/test/params/small-ru-en.yml taskcluster/test/params/large-lt-en.yml \
    "$here"/*.yml "$here"/*.json --phases "$phases"
