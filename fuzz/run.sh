#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) with cargo-fuzz (libFuzzer) on the
# stable toolchain: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags (no nightly needed).
#   fuzz/run.sh [SECONDS] [--asan] [TARGET...]   explore for SECONDS per target (default 60)
#   fuzz/run.sh --ci                             what CI runs: a fixed seed and a fixed number
#                                                of runs per target, so the verdict does not
#                                                depend on luck (like PROPTEST_RNG_SEED)
# Default sanitizer: none (coverage-guided, fast to build); --asan adds AddressSanitizer.
# Inputs: fuzz/seeds/<target> (committed starting points), fuzz/regressions/<target>
# (committed inputs that once failed, replayed first), fuzz/corpus/<target> (grown here,
# not committed). A failure leaves its input in fuzz/artifacts/<target>/ and exits non-zero:
# copy it to fuzz/regressions/<target>/ once fixed.
set -euo pipefail
cd "$(dirname "$0")"
SECS=60
SAN=none
CI=0
TARGETS=()
for arg in "$@"; do
  case "$arg" in
    --asan) SAN=address ;;
    --ci) CI=1 ;;
    [0-9]*) SECS="$arg" ;;
    *) TARGETS+=("$arg") ;;
  esac
done
if [[ ${#TARGETS[@]} -eq 0 ]]; then
  TARGETS=(open_file decode_records import_line filter c_api mining_input)
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.1 >&2
fi
export RUSTC_BOOTSTRAP=1
# libFuzzer's C++ runtime.
command -v g++ >/dev/null || (apt-get update -qq && apt-get install -y -qq g++)
cargo fuzz build -s "$SAN" >&2
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t" "seeds/$t" "regressions/$t"
  max_len=4096
  [[ "$t" == open_file ]] && max_len=262144
  # A damaged page pointer can make redb allocate (and zero) a page of the order the file
  # claims before it reads and rejects it: up to 4 GiB (its largest page order, 20), freed
  # at once, the open then failing with Corrupted (fuzz/regressions/open_file/oom-*).
  # Bounded, so open_file may use more than libFuzzer's default 2 GiB.
  rss=2048
  [[ "$t" == open_file ]] && rss=8192
  if [[ $CI -eq 1 ]]; then
    # About 20 s each on a 2-core machine.
    case "$t" in
      open_file) limit=(-runs=6000 -seed=1) ;;
      c_api) limit=(-runs=6000 -seed=1) ;;
      mining_input) limit=(-runs=20000 -seed=1) ;;
      decode_records) limit=(-runs=2000000 -seed=1) ;;
      *) limit=(-runs=200000 -seed=1) ;;
    esac
    # A fresh corpus: the same inputs every time.
    rm -rf "corpus/$t" && mkdir -p "corpus/$t"
  else
    limit=(-max_total_time="$SECS")
  fi
  echo "== fuzz $t (${limit[*]}, sanitizer: $SAN)"
  log="artifacts/$t.log"
  status=0
  cargo fuzz run -s "$SAN" "$t" "corpus/$t" "seeds/$t" "regressions/$t" -- \
    "${limit[@]}" -max_len="$max_len" -rss_limit_mb="$rss" -artifact_prefix="artifacts/$t/" \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb)" "$log" || true
  if [[ $status -ne 0 ]] || compgen -G "artifacts/$t/*" >/dev/null; then
    grep -v "^\s*\[" "$log" | tail -n 40 | cut -c1-400 >&2
    echo "fuzz target $t failed (status $status); inputs in fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
