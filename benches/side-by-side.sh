#!/usr/bin/env bash
# Times graphgen against the Python reference (taskcluster-taskgraph 15.1.3)
# on synthetic projects, in the same time window, and checks that both
# print the same graph.
#
#   benches/side-by-side.sh [--tasks N]... [--runs R] [--phase PHASE] [--no-hyperfine]
#
# --tasks N     project size, repeatable (default: 1000 and 5000)
# --runs R      timed runs per engine and size (default: 5; one warm-up
#               run comes on top when hyperfine is used)
# --phase P     full (default), target or target-graph
# --no-hyperfine  time with a loop alternating the two engines even when
#               hyperfine is installed (fairer on a busy machine)
#
# Each project is written by the synthetic-project example into
# benches/generated/synthetic-N/ (gitignored), as a committed git
# repository. Both engines run there as
#   <engine> PHASE --root taskcluster -p params.yml --json
# with TASK_ID and MOZ_AUTOMATION unset and
# TASKCLUSTER_ROOT_URL=https://tc.example.com. Outputs are compared as
# parsed JSON; a difference is reported by task and field and makes the
# script exit with status 1 after the summary.
#
# The reference comes from $GRAPHGEN_REFERENCE_VENV (default: .venv-ref in
# the repository), or is installed into a throwaway virtualenv. Its bundled
# run-task script is replaced by this repository's, as
# scripts/regen-goldens.sh does, so run-task cache names hash the same
# file in both engines. Timings use hyperfine when it is installed, else a
# loop alternating the engines; peak RSS comes from /usr/bin/time.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
sizes=()
runs=5
phase=full
use_hyperfine=yes
while [ $# -gt 0 ]; do
    case "$1" in
        --tasks) sizes+=("$2"); shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --phase) phase="$2"; shift 2 ;;
        --no-hyperfine) use_hyperfine=no; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 5000)
case "$phase" in
    full|target|target-graph) ;;
    *) echo "--phase must be full, target or target-graph" >&2; exit 2 ;;
esac

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# The reference, with our run-task script in place of its own.
venv="${GRAPHGEN_REFERENCE_VENV:-$repo/.venv-ref}"
if [ ! -x "$venv/bin/taskgraph" ]; then
    venv="$scratch/venv"
    echo "installing the reference into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet taskcluster-taskgraph==15.1.3 mozilla-taskgraph==3.4.1 taskcluster==85.0.0
fi
package="$("$venv/bin/python" -c 'import os, taskgraph; print(os.path.dirname(taskgraph.__file__))')"
ours="$repo/taskcluster/scripts/run-task/run-task"
cmp -s "$ours" "$package/run-task/run-task" || cp "$ours" "$package/run-task/run-task"

echo "building graphgen and the project generator (release)" >&2
(cd "$repo" && cargo build --quiet --release -p graphgen --bin graphgen \
    && cargo build --quiet --release -p graphgen-suite --example synthetic-project)
graphgen="$repo/target/release/graphgen"
generator="$repo/target/release/examples/synthetic-project"

# Both engines see the same environment; GRAPHGEN_RUN_TASK_DIR is dropped
# so graphgen reads the run-task directory from the project's config.yml.
clean_env=(env -u TASK_ID -u MOZ_AUTOMATION -u GRAPHGEN_RUN_TASK_DIR
    TASKCLUSTER_ROOT_URL=https://tc.example.com)
args=("$phase" --root taskcluster -p params.yml --json)
reference_cmd=("${clean_env[@]}" "$venv/bin/taskgraph" "${args[@]}")
graphgen_cmd=("${clean_env[@]}" "$graphgen" "${args[@]}")

# once OUT COMMAND...: one run writing stdout to OUT; prints the peak RSS
# in MB (or "-" without /usr/bin/time).
once() {
    local out="$1" rss="$scratch/rss"
    shift
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -o "$rss" -f %M "$@" </dev/null >"$out" 2>"$scratch/stderr" \
            || { cat "$scratch/stderr" >&2; return 1; }
        awk '{ printf "%.0f", $1 / 1024 }' "$rss"
    else
        "$@" </dev/null >"$out" 2>"$scratch/stderr" || { cat "$scratch/stderr" >&2; return 1; }
        printf -- -
    fi
}

# seconds COMMAND...: runs it quietly and prints its wall time.
seconds() {
    local start end
    start=$(date +%s.%N)
    "$@" </dev/null >/dev/null 2>&1
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}

# compare A B: exit status 0 when both files hold the same JSON (leading
# non-JSON lines skipped); otherwise prints the first differing task and
# field with both values.
compare() {
    python3 - "$1" "$2" <<'EOF'
import json, sys

def load(path):
    with open(path) as f:
        text = f.read()
    start = text.find("\n{") + 1 if not text.startswith("{") else 0
    return json.loads(text[start:])

def first_difference(a, b, path):
    if type(a) is not type(b):
        return path, a, b
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return path + [key], a.get(key, "<missing>"), b.get(key, "<missing>")
            found = first_difference(a[key], b[key], path + [key])
            if found:
                return found
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, path + [i])
            if found:
                return found
        if len(a) != len(b):
            return path + ["<length>"], len(a), len(b)
        return None
    return None if a == b else (path, a, b)

reference, graphgen = load(sys.argv[1]), load(sys.argv[2])
if reference == graphgen:
    sys.exit(0)
only_ref = sorted(set(reference) - set(graphgen))
only_ours = sorted(set(graphgen) - set(reference))
if only_ref or only_ours:
    print(f"  tasks only in the reference: {len(only_ref)} {only_ref[:5]}")
    print(f"  tasks only in graphgen: {len(only_ours)} {only_ours[:5]}")
path, in_reference, in_graphgen = first_difference(reference, graphgen, [])
task = path[0] if path else "<top level>"
print(f"  first difference: task {task!r}, field {'.'.join(map(str, path[1:]))}")
print(f"    reference: {json.dumps(in_reference)[:500]}")
print(f"    graphgen:  {json.dumps(in_graphgen)[:500]}")
sys.exit(1)
EOF
}

# median: the median of the numbers on stdin.
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# timings DIR: prints "REFERENCE_MEDIAN GRAPHGEN_MEDIAN" in seconds.
timings() {
    local dir="$1"
    if [ "$use_hyperfine" = yes ] && command -v hyperfine >/dev/null; then
        (cd "$dir" && hyperfine --style basic --warmup 1 --runs "$runs" \
            --export-json "$scratch/hyperfine.json" \
            -n reference "$(printf '%q ' "${reference_cmd[@]}")" \
            -n graphgen "$(printf '%q ' "${graphgen_cmd[@]}")" >&2)
        python3 -c 'import json, sys
results = json.load(open(sys.argv[1]))["results"]
print(" ".join(str(r["median"]) for r in results))' "$scratch/hyperfine.json"
        return
    fi
    # Alternating runs share whatever load the machine has at the time.
    : >"$scratch/ref.times"
    : >"$scratch/gg.times"
    local i
    for ((i = 0; i < runs; i++)); do
        (cd "$dir" && seconds "${reference_cmd[@]}") >>"$scratch/ref.times"
        (cd "$dir" && seconds "${graphgen_cmd[@]}") >>"$scratch/gg.times"
    done
    echo "$(median <"$scratch/ref.times") $(median <"$scratch/gg.times")"
}

# The 1-minute load average: a busy machine makes every figure noisy.
load_average() {
    cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?'
}

load_before=$(load_average)
summary=()
status=0
for tasks in "${sizes[@]}"; do
    dir="$repo/benches/generated/synthetic-$tasks"
    rm -rf "$dir"
    "$generator" --tasks "$tasks" "$dir" >&2

    echo "== $tasks tasks: checking outputs" >&2
    ref_rss=$(cd "$dir" && once "$scratch/reference.json" "${reference_cmd[@]}")
    gg_rss=$(cd "$dir" && once "$scratch/graphgen.json" "${graphgen_cmd[@]}")
    if compare "$scratch/reference.json" "$scratch/graphgen.json" >"$scratch/diff"; then
        same=yes
    else
        same=NO
        status=1
        cat "$scratch/diff"
    fi

    echo "== $tasks tasks: timing $runs runs each" >&2
    medians=$(timings "$dir")
    read -r ref_median gg_median <<<"$medians"
    ratio=$(awk -v r="$ref_median" -v g="$gg_median" 'BEGIN { printf "%.1f", r / g }')
    summary+=("$(printf '%8s  %12.3f  %12.3f  %7sx  %9s  %9s  %s' "$tasks" "$ref_median" \
        "$gg_median" "$ratio" "$ref_rss" "$gg_rss" "$same")")
done

echo
echo "taskgraph $phase --json, $(nproc) cores, $(date -u +%Y-%m-%d), medians of $runs runs," \
    "load average before: $load_before, after: $(load_average)"
printf '%8s  %12s  %12s  %8s  %9s  %9s  %s\n' tasks "reference s" "graphgen s" ratio \
    "ref MB" "gg MB" identical
printf '%s\n' "${summary[@]}"
exit "$status"
