#!/usr/bin/env bash
# Regenerates the golden files of tests/fixtures with the Python reference,
# taskcluster-taskgraph 15.1.3, installed in a throwaway virtualenv.
#
#   scripts/regen-goldens.sh [FIXTURE...|pipeline]
#
# `pipeline` is this repository's own taskcluster/ directory, with the
# params files in taskcluster/params/; its goldens go to tests/pipeline/.
# Each fixture is copied to a scratch directory, committed to a fresh git
# repository (hashes of resources read what git tracks), and each params
# file under params/ produces expected/<params>.<phase>.json for the phases
# full, target and target-graph. The reference's bundled run-task script
# is replaced by ours first, so that run-task cache names in the goldens
# hash a file this repository ships.
#
# Set GRAPHGEN_REFERENCE_VENV to reuse an existing virtualenv.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

venv="${GRAPHGEN_REFERENCE_VENV:-$scratch/venv}"
if [ ! -x "$venv/bin/taskgraph" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet taskcluster-taskgraph==15.1.3 mozilla-taskgraph==3.4.1 taskcluster==85.0.0
fi
package="$("$venv/bin/python" -c 'import os, taskgraph; print(os.path.dirname(taskgraph.__file__))')"
cp "$repo/taskcluster/scripts/run-task/run-task" "$package/run-task/run-task"

# generate NAME SOURCE PARAMS_DIR EXPECTED_DIR: copies the project at SOURCE
# (a directory holding taskcluster/) into a fresh repository and writes one
# golden per params file and phase.
generate() {
    local name="$1" source_dir="$2" params_dir="$3" expected_dir="$4"
    local copy="$scratch/projects/$name"
    mkdir -p "$copy"
    cp -r "$source_dir/." "$copy"
    rm -rf "$copy/expected"
    (
        cd "$copy"
        git init -q
        git add -A
        git -c user.name=graphgen -c user.email=graphgen@example.com commit -qm fixture
        git remote add origin "https://github.com/graphgen-fixtures/$name"
    )
    mkdir -p "$expected_dir"
    rm -f "$expected_dir"/*.json
    for params in "$copy/$params_dir"/*.yml; do
        params_name="$(basename "$params" .yml)"
        for phase in full target target-graph; do
            out="$expected_dir/$params_name.$phase.json"
            (
                cd "$copy"
                env -u TASK_ID -u MOZ_AUTOMATION TASKCLUSTER_ROOT_URL=https://tc.example.com \
                    "$venv/bin/taskgraph" "$phase" --root taskcluster -p "$params_dir/$params_name.yml" --json \
                    2>"$scratch/stderr"
            ) >"$out" || { cat "$scratch/stderr" >&2; echo "reference failed: $name $params_name $phase" >&2; exit 1; }
            echo "wrote ${out#"$repo"/}"
        done
    done
}

fixtures=("$@")
if [ ${#fixtures[@]} -eq 0 ]; then
    fixtures+=(pipeline)
    for dir in "$repo"/tests/fixtures/*/; do
        [ -f "$dir/taskcluster/config.yml" ] && fixtures+=("$(basename "$dir")")
    done
fi

for name in "${fixtures[@]}"; do
    if [ "$name" = pipeline ]; then
        # The repository's own pipeline, the README's default.
        mkdir -p "$scratch/pipeline"
        cp -r "$repo/taskcluster" "$scratch/pipeline/"
        generate pipeline "$scratch/pipeline" taskcluster/params "$repo/tests/pipeline/expected"
    else
        generate "$name" "$repo/tests/fixtures/$name" params "$repo/tests/fixtures/$name/expected"
    fi
done
