#!/usr/bin/env bash
# The step of the gcrsync GitHub Action (action.yml): `gcrsync sync` from the action's own checkout, with the
# action's inputs as INPUT_* variables, its outputs appended to $GITHUB_OUTPUT. It runs the same way by hand:
#   INPUT_SOURCE=gcr.io/NS INPUT_TARGET=registry.example.com/mirror GITHUB_OUTPUT=/dev/stdout action/run.sh
# Empty inputs are left out, so gcrsync.yaml and GCRSYNC_* variables decide. The exit status is gcrsync's
# (1: some images failed, everything else committed; 2: nothing was changed); the outputs are written first.
set -euo pipefail

action_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
output="${GITHUB_OUTPUT:?GITHUB_OUTPUT must name the file the step outputs go to}"
# a directory of its own per run: two steps at once on one machine (a self-hosted runner, a matrix) keep their reports
report="$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/gcrsync-report.XXXXXX")/gcrsync-report.json"

# A release checkout has no build: install (npm ci builds dist/ through `prepare`) once; a built one is used as is.
if [ ! -f "$action_dir/dist/cmd/gcrsync.js" ] || [ ! -d "$action_dir/node_modules" ]; then
  (cd "$action_dir" && npm ci --prefer-offline --no-audit --no-fund) >&2
fi

args=(sync --report "$report")
add() { if [ -n "$2" ]; then args+=("$1" "$2"); fi; }
add --source "${INPUT_SOURCE:-}"
add --target "${INPUT_TARGET:-}"
add --metadata-repo "${INPUT_METADATA_REPO:-}"
add --config "${INPUT_CONFIG:-}"
add --job "${INPUT_JOB:-}"
add --transport "${INPUT_TRANSPORT:-}"
add --shard "${INPUT_SHARD:-}"
add --max-duration "${INPUT_MAX_DURATION:-}"
# target credentials reach gcrsync the way it reads them anyway, never on a command line
if [ -n "${INPUT_USERNAME:-}" ]; then export GCRSYNC_USERNAME="$INPUT_USERNAME"; fi
if [ -n "${INPUT_PASSWORD:-}" ]; then export GCRSYNC_PASSWORD="$INPUT_PASSWORD"; fi

rm -f "$report"
status=0
node "$action_dir/dist/cmd/gcrsync.js" "${args[@]}" || status=$?

{
  echo "exit-code=$status"
  if [ -f "$report" ]; then
    echo "report=$report"
    node "$action_dir/action/counts.mjs" "$report"
  fi
} >> "$output"
exit "$status"
