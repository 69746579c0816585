#!/usr/bin/env bash
# Checks the pipeline's goldens (tests/pipeline/expected/, which graphgen
# writes: see tests/pipeline.rs) against the Python reference,
# taskcluster-taskgraph 15.1.3 running the translations_taskgraph package
# of a mozilla/translations checkout.
#
#   scripts/pipeline-against-reference.sh TRANSLATIONS_DIR
#
# The package hashes cache resources relative to the directory it is
# imported from (three levels above its transforms), so it cannot run on
# this repository from its own checkout. Here it is copied into a scratch
# checkout of taskcluster/, as taskcluster/translations_taskgraph, with the
# CI training config its parameter defaults always read; then the
# resources it hashes are ours. Neither copy is part of the goldens'
# project, nor of this repository.
#
# Every `full`, `target` and `target-graph` golden is compared byte for
# byte with what `taskgraph <phase> --json` prints for the same run (the
# stage run `<params>+stage=<stage>` sets `training_config.target-stage`).
# The `optimized` golden is not: the reference's task ids are random.
#
# Set GRAPHGEN_REFERENCE_VENV to reuse an existing virtualenv.
set -euo pipefail

[ $# -eq 1 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2; }
translations="$(cd "$1" && pwd)"
[ -d "$translations/taskcluster/translations_taskgraph" ] || {
    echo "$translations has no taskcluster/translations_taskgraph" >&2
    exit 2
}
repo="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

venv="${GRAPHGEN_REFERENCE_VENV:-$scratch/venv}"
if [ ! -x "$venv/bin/taskgraph" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet taskcluster-taskgraph==15.1.3 mozilla-taskgraph==3.4.1 taskcluster==85.0.0
fi
# Our run-task files replace the reference's, as scripts/regen-goldens.sh
# does: they name run-task caches and go into the docker contexts.
package="$("$venv/bin/python" -c 'import os, taskgraph; print(os.path.dirname(taskgraph.__file__))')"
for file in run-task fetch-content hgrc robustcheckout.py; do
    cp --preserve=mode "$repo/taskcluster/scripts/run-task/$file" "$package/run-task/$file"
done

copy="$scratch/checkout"
mkdir -p "$copy"
cp -r "$repo/taskcluster" "$copy/"
cp -r "$translations/taskcluster/translations_taskgraph" "$copy/taskcluster/"
mkdir -p "$copy/taskcluster/configs"
cp "$translations/taskcluster/configs/config.ci.yml" "$copy/taskcluster/configs/"
find "$copy" -type f -perm /111 -exec chmod 755 {} +
find "$copy" -type f ! -perm /111 -exec chmod 644 {} +
(
    cd "$copy"
    git init -q
    git symbolic-ref HEAD refs/heads/main
    git add -A
    git -c user.name=graphgen -c user.email=graphgen@example.com \
        -c commit.gpgsign=false -c core.hooksPath=/dev/null commit -qm pipeline
)

failed=0
for golden in "$repo"/tests/pipeline/expected/*.json; do
    name="$(basename "$golden" .json)"
    phase="${name##*.}"
    run="${name%.*}"
    case "$phase" in full | target | target-graph) ;; *) continue ;; esac
    params="${run%%+stage=*}"
    params_file="$copy/taskcluster/params/$params.yml"
    if [ "$run" != "$params" ]; then
        params_file="$scratch/$run.yml"
        "$venv/bin/python" - "$copy/taskcluster/params/$params.yml" "${run#*+stage=}" "$params_file" <<'PY'
import sys, yaml
params = yaml.safe_load(open(sys.argv[1]))
params["training_config"]["target-stage"] = sys.argv[2]
# Key order matters: marian-args become options in mapping order.
yaml.safe_dump(params, open(sys.argv[3], "w"), sort_keys=False)
PY
    fi
    (
        cd "$copy"
        env -u TASK_ID -u MOZ_AUTOMATION TASKCLUSTER_ROOT_URL=https://tc.example.com \
            PYTHONPATH="$copy/taskcluster" \
            "$venv/bin/taskgraph" "$phase" --root taskcluster -p "$params_file" --json \
            </dev/null 2>"$scratch/stderr"
    ) >"$scratch/out.json" || {
        cat "$scratch/stderr" >&2
        echo "reference failed: $name" >&2
        exit 1
    }
    if cmp -s "$scratch/out.json" "$golden"; then
        echo "same: $name"
    else
        echo "DIFFERENT: $name" >&2
        diff "$golden" "$scratch/out.json" | head -20 >&2 || true
        failed=1
    fi
done
exit "$failed"
