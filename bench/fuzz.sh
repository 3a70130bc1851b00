#!/usr/bin/env bash
# Fuzzing: builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan, a build directory of
# its own) and runs each from its seed corpus (tests/fixtures, golden files, tests/fuzz/seeds,
# copied into a fresh corpus under the build directory) for a number of executions, then prints
# executions, crashes and seconds per target and a total line. Exit status 1 if any target crashed
# (a crash, an exception that escaped, a sanitizer report, a timeout or running out of memory);
# the input that did it is kept in BUILD_DIR/fuzz-artifacts/TARGET/. docs/fuzzing.md says more.
#
#   bench/fuzz.sh [--runs N] [--max-time SECONDS] [--build-dir DIR] [TARGET...]
#     --runs N           executions per target (default 1000000)
#     --max-time S       stop a target after S seconds even if it has not done N (default: no cap)
#     --build-dir DIR    default build-fuzz; CXX chooses the compiler (default clang++-16)
#   CI (scripts/run-tests) runs: bench/fuzz.sh --runs 20000 --max-time 15
set -euo pipefail
cd "$(dirname "$0")/.."

runs=1000000
max_time=0
build_dir=build-fuzz
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --max-time) max_time=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
case "$runs$max_time" in *[!0-9]*) echo "fuzz.sh: --runs and --max-time take whole numbers" >&2; exit 2 ;; esac

cxx=${CXX:-clang++-16}
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "fuzz.sh: $cxx not found; install clang-16 and libclang-rt-16-dev (scripts/install-deps)" >&2
  exit 1
fi
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" \
      -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" -DBERTH_FUZZ=ON -DBERTH_BUILD_TESTS=OFF >/dev/null
list="$build_dir/tests/fuzz/fuzz_targets.txt"
if [ ! -f "$list" ]; then
  echo "fuzz.sh: $cxx cannot build the fuzz targets (see the BERTH_FUZZ warning of: cmake -S . -B $build_dir)" >&2
  exit 1
fi
cmake --build "$build_dir" -j2 --target berth_fuzz_targets

total_execs=0
total_crashes=0
printf '%-22s %12s %8s %8s\n' target executions crashes seconds
while read -r name seeds; do
  if [ ${#targets[@]} -gt 0 ] && ! printf '%s\n' "${targets[@]}" | grep -qx "$name"; then continue; fi
  corpus="$build_dir/fuzz-corpus/$name"
  artifacts="$build_dir/fuzz-artifacts/$name"
  log="$build_dir/fuzz-logs/$name.log"
  rm -rf "$corpus" "$artifacts"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  for dir in $seeds; do
    find "$dir" -maxdepth 1 -type f -exec cp -t "$corpus" {} +
  done
  start=$(date +%s)
  status=0
  "$build_dir/tests/fuzz/$name" -runs="$runs" -max_total_time="$max_time" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 || status=$?
  seconds=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
  [ -n "$execs" ] || execs=0
  crashes=$(find "$artifacts" -type f | wc -l)
  [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ] && crashes=1
  printf '%-22s %12s %8s %8s\n' "$name" "$execs" "$crashes" "$seconds"
  if [ "$crashes" -gt 0 ]; then
    echo "  $name crashed (exit $status): log $log, input(s):" $(find "$artifacts" -type f)
    grep -m 3 -E 'ERROR: |runtime error|terminate called|what\(\)' "$log" | sed 's/^/    /' || true
  fi
  total_execs=$((total_execs + execs))
  total_crashes=$((total_crashes + crashes))
done <"$list"
printf '%-22s %12s %8s\n' total "$total_execs" "$total_crashes"
[ "$total_crashes" -eq 0 ]
