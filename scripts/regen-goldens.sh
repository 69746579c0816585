#!/usr/bin/env bash
# Regenerates the golden files of tests/fixtures with the Python reference,
# taskcluster-taskgraph 15.1.3, installed in a throwaway virtualenv.
#
#   scripts/regen-goldens.sh [FIXTURE...]
#
# This repository's own pipeline (taskcluster/) is not among them: its
# goldens are graphgen's, rewritten by `GRAPHGEN_BLESS=1 cargo test --test
# pipeline` (see tests/pipeline.rs).
#
# A fixture, tests/fixtures/NAME/, is laid out as:
#
#   taskcluster/       the project: config.yml and kinds/
#   params/            parameter files, NAME.yml or NAME.json (one of the
#                      two per NAME). Each gives expected/NAME.PHASE.json
#                      for the phases full, target and target-graph.
#   runs               optional: more runs, one per line, `PARAMS [-k KIND]...`
#                      (blank lines and lines starting with `#` are
#                      skipped). Each gives
#                      expected/PARAMS[+k=KIND]....PHASE.json for the phases
#                      tasks, full, target and target-graph, with one
#                      `-k/--target-kind` per KIND.
#   unstaged/          optional: copied over the checkout after the commit,
#                      so the tracked files it replaces are unstaged changes
#                      (the `files_changed` default).
#   expected/          the goldens this script writes.
#   anything else      part of the project (version.txt, ...). Every file
#                      is committed, so any change (a stray file too) moves
#                      HEAD, and goldens using the head_rev default need
#                      regenerating.
#
# Everything but expected/ and unstaged/ is copied to a scratch directory
# and committed to a fresh git repository on branch `main`, with fixed
# author, committer and dates so that HEAD (the `head_rev` default) is the
# same commit every time, and `origin` set to
# https://github.com/graphgen-fixtures/NAME. tests/golden.rs rebuilds the
# same checkout. The reference's bundled run-task files are replaced by ours
# first, so that run-task cache names and docker contexts in the goldens
# hash files this repository ships.
#
# Set GRAPHGEN_REFERENCE_VENV to reuse an existing virtualenv.
#
# Projects whose config.yml registers `translations_taskgraph:register`
# need the translations pipeline's Python package: set
# GRAPHGEN_TRANSLATIONS_DIR to a mozilla/translations checkout, whose
# taskcluster/ directory then goes on the reference's PYTHONPATH. (Nothing
# of it is copied into the goldens' projects; give such fixtures their
# `training_config` in the params, since the package's default reads its
# own checkout's CI config.)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# Files get the modes a git checkout gives them under umask 022, whatever
# this clone's umask made of them: docker context hashes include modes.
normalize_modes() {
    find "$1" -type f -perm /111 -exec chmod 755 {} +
    find "$1" -type f ! -perm /111 -exec chmod 644 {} +
}

venv="${GRAPHGEN_REFERENCE_VENV:-$scratch/venv}"
if [ -n "${GRAPHGEN_TRANSLATIONS_DIR:-}" ]; then
    export PYTHONPATH="$GRAPHGEN_TRANSLATIONS_DIR/taskcluster${PYTHONPATH:+:$PYTHONPATH}"
fi
if [ ! -x "$venv/bin/taskgraph" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet taskcluster-taskgraph==15.1.3 mozilla-taskgraph==3.4.1 taskcluster==85.0.0
fi
package="$("$venv/bin/python" -c 'import os, taskgraph; print(os.path.dirname(taskgraph.__file__))')"
# Ours replace all four run-task files, modes included: the run-task script
# names caches, and images with `# %include-run-task` hash all of them.
for file in run-task fetch-content hgrc robustcheckout.py; do
    cp --preserve=mode "$repo/taskcluster/scripts/run-task/$file" "$package/run-task/$file"
done
normalize_modes "$package/run-task"

# The identity and dates of the fixture commit; tests/golden.rs uses the same.
export GIT_AUTHOR_NAME=graphgen GIT_AUTHOR_EMAIL=graphgen@example.com
export GIT_COMMITTER_NAME=graphgen GIT_COMMITTER_EMAIL=graphgen@example.com
export GIT_AUTHOR_DATE="2024-01-01T00:00:00+00:00" GIT_COMMITTER_DATE="2024-01-01T00:00:00+00:00"

# checkout NAME SOURCE: copies the project at SOURCE (a directory holding
# taskcluster/) into a fresh repository and prints its path.
checkout() {
    local name="$1" source_dir="$2"
    local copy="$scratch/projects/$name"
    mkdir -p "$copy"
    cp -r "$source_dir/." "$copy"
    rm -rf "$copy/expected" "$copy/unstaged"
    normalize_modes "$copy"
    (
        cd "$copy"
        git init -q
        git symbolic-ref HEAD refs/heads/main
        git add -A
        git -c commit.gpgsign=false -c core.hooksPath=/dev/null commit -qm fixture
        git remote add origin "https://github.com/graphgen-fixtures/$name"
    )
    if [ -d "$source_dir/unstaged" ]; then
        cp -r "$source_dir/unstaged/." "$copy"
    fi
    echo "$copy"
}

# params_file DIR STEM: the one parameters file named STEM in DIR.
params_file() {
    local dir="$1" stem="$2" found=()
    for ext in yml json; do
        [ -f "$dir/$stem.$ext" ] && found+=("$stem.$ext")
    done
    if [ ${#found[@]} -ne 1 ]; then
        echo "need exactly one of $dir/$stem.yml and $dir/$stem.json" >&2
        exit 1
    fi
    echo "${found[0]}"
}

# run COPY PARAMS_DIR PARAMS_FILE GOLDEN_NAME EXPECTED_DIR [KIND...]: writes
# one golden per phase in $phases.
run() {
    local copy="$1" params_dir="$2" params_file="$3" golden="$4" expected_dir="$5"
    shift 5
    local kind_args=()
    for kind in "$@"; do
        kind_args+=(-k "$kind")
    done
    for phase in $phases; do
        out="$expected_dir/$golden.$phase.json"
        (
            cd "$copy"
            env -u TASK_ID -u MOZ_AUTOMATION TASKCLUSTER_ROOT_URL=https://tc.example.com \
                "$venv/bin/taskgraph" "$phase" --root taskcluster -p "$params_dir/$params_file" \
                ${kind_args[@]+"${kind_args[@]}"} --json </dev/null 2>"$scratch/stderr"
        ) >"$out" || {
            cat "$scratch/stderr" >&2
            echo "reference failed: $golden $phase" >&2
            exit 1
        }
        echo "wrote ${out#"$repo"/}"
    done
}

# optimized COPY PARAMS_DIR PARAMS_FILE GOLDEN_NAME EXPECTED_DIR SNAPSHOT:
# the `optimized` and `morphed` goldens, with the index answered by a
# loopback server from SNAPSHOT. Task ids are random, so each is replaced
# by `<task LABEL>`, and the lists sorted by task id are sorted again
# (tests/golden.rs does the same to graphgen's output).
optimized() {
    local copy="$1" params_dir="$2" params_file="$3" golden="$4" expected_dir="$5" snapshot="$6"
    local port_file="$scratch/port"
    rm -f "$port_file"
    python3 "$repo/scripts/index-server.py" "$snapshot" "$port_file" &
    local server=$!
    for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.05; done
    local root="http://127.0.0.1:$(cat "$port_file")"
    for phase in optimized morphed; do
        out="$expected_dir/$golden.$phase.json"
        (
            cd "$copy"
            env -u TASK_ID -u MOZ_AUTOMATION TASKCLUSTER_ROOT_URL="$root" \
                "$venv/bin/taskgraph" "$phase" --root taskcluster -p "$params_dir/$params_file" \
                --json </dev/null 2>"$scratch/stderr"
        ) >"$scratch/raw.json" || {
            # Some projects cannot be optimized (the reference stops with
            # an error): keep its message, which graphgen must give too.
            python3 - "$scratch/stderr" "$expected_dir/$golden.$phase.error" <<'PY'
import re, sys
last = [l for l in open(sys.argv[1]).read().splitlines() if l.strip()][-1]
message = re.sub(r"^[A-Za-z_.]*(Error|Exception): ", "", last).strip().strip('"')
open(sys.argv[2], "w").write(message + "\n")
PY
            echo "wrote ${expected_dir#"$repo"/}/$golden.$phase.error"
            continue
        }
        python3 - "$scratch/raw.json" "$out" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
text = text[text.index("{"):]
graph = json.loads(text)
for task_id, task in sorted(graph.items(), key=lambda item: -len(item[0])):
    text = text.replace(task_id, "<task %s>" % task["label"])
graph = json.loads(text)
# `task.dependencies` is sorted by task id, which is random.
for task in graph.values():
    task["task"].get("dependencies", []).sort()
with open(sys.argv[2], "w") as f:
    f.write(json.dumps(graph, sort_keys=True, indent=2))
PY
        echo "wrote ${out#"$repo"/}"
    done
    kill "$server"
}

# generate NAME SOURCE PARAMS_DIR EXPECTED_DIR: every golden of one project.
generate() {
    local name="$1" source_dir="$2" params_dir="$3" expected_dir="$4"
    local copy
    copy="$(checkout "$name" "$source_dir")"
    mkdir -p "$expected_dir"
    rm -f "$expected_dir"/*.json "$expected_dir"/*.error

    # What the index holds for the optimized goldens: the project's
    # index.json, or nothing.
    local snapshot="$source_dir/index.json"
    if [ ! -f "$snapshot" ]; then
        snapshot="$scratch/empty-index.json"
        echo '{}' >"$snapshot"
    fi

    phases="full target target-graph"
    for params in "$copy/$params_dir"/*.yml "$copy/$params_dir"/*.json; do
        [ -f "$params" ] || continue
        stem="$(basename "${params%.*}")"
        run "$copy" "$params_dir" "$(params_file "$copy/$params_dir" "$stem")" "$stem" "$expected_dir"
        optimized "$copy" "$params_dir" "$(params_file "$copy/$params_dir" "$stem")" "$stem" "$expected_dir" "$snapshot"
    done

    if [ -f "$source_dir/runs" ]; then
        phases="tasks full target target-graph"
        while read -r stem rest; do
            case "$stem" in '' | '#'*) continue ;; esac
            local kinds=() golden="$stem"
            read -r -a words <<<"$rest"
            while [ ${#words[@]} -gt 0 ]; do
                if [ "${words[0]}" != -k ] || [ ${#words[@]} -lt 2 ]; then
                    echo "$source_dir/runs: expected \`PARAMS [-k KIND]...\`, got: $stem $rest" >&2
                    exit 1
                fi
                kinds+=("${words[1]}")
                golden+="+k=${words[1]}"
                words=("${words[@]:2}")
            done
            run "$copy" "$params_dir" "$(params_file "$copy/$params_dir" "$stem")" "$golden" "$expected_dir" \
                ${kinds[@]+"${kinds[@]}"}
        done <"$source_dir/runs"
    fi
}

fixtures=("$@")
if [ ${#fixtures[@]} -eq 0 ]; then
    for dir in "$repo"/tests/fixtures/*/; do
        [ -f "$dir/taskcluster/config.yml" ] && fixtures+=("$(basename "$dir")")
    done
fi

for name in "${fixtures[@]}"; do
    generate "$name" "$repo/tests/fixtures/$name" params "$repo/tests/fixtures/$name/expected"
done
