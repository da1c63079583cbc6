#!/usr/bin/env bash
# Fuzzes Concord's parsers of user input with libFuzzer (address sanitizer on).
#   fuzz/run.sh SECONDS [TARGET...]     each target (default: all) for SECONDS
# Builds .build-fuzz/ (release, -sanitize=fuzzer,address, -D FUZZING), then runs each target
# on a working corpus in .build-fuzz/corpus/TARGET that starts from fuzz/seeds/TARGET and
# grows across runs. A crash, hang (over 10 s), leak or out-of-memory (over 2 GB) stops the
# target; its input is saved in fuzz/findings/TARGET/ and the script exits 1. Reproduce one
# with `swift run -c release concord-fuzz TARGET FILE` (a plain build replays inputs).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(srt vtt manifest safetensors npy config cache-json index-metadata); fi
swift build -c release --product concord-fuzz --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld 2>&1 | grep -E "error|warning: unre|Compiling|Build" | tail -3
binary=.build-fuzz/release/concord-fuzz
status=0
for t in "${targets[@]}"; do
    corpus=.build-fuzz/corpus/$t
    findings=fuzz/findings/$t
    mkdir -p "$corpus" "$findings"
    log=.build-fuzz/$t.log
    # Leaks: fuzz/lsan.supp names the one known leak of Swift's Foundation (not Concord's).
    if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 LSAN_OPTIONS=suppressions=fuzz/lsan.supp "$binary" "$t" "$corpus" fuzz/seeds/"$t" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="$findings/" -print_final_stats=1 > "$log" 2>&1; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
        echo "$t: ${seconds} s, $runs inputs, no finding (corpus $(ls "$corpus" | wc -l) inputs)"
    else
        echo "$t: FINDING, see $log and $findings/"
        grep -E "ERROR|SUMMARY|==.*==" "$log" | head -5 || true
        status=1
    fi
done
exit $status
