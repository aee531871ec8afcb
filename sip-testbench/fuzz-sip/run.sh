#!/bin/sh
# Runs the sip_judges fuzz target for $1 seconds (default 300), seeded with the RFC 4475
# torture messages. Uses cargo-fuzz when installed; otherwise the same instrumentation
# flags cargo-fuzz passes (coverage counters, compare tracing, no sanitizer: the code
# under test is safe Rust, so `-s none` loses nothing but speed).
set -eu
cd "$(dirname "$0")"
seconds="${1:-300}"
mkdir -p corpus/sip_judges artifacts/sip_judges
cp ../rfc4475/*.dat corpus/sip_judges/
if cargo fuzz --version >/dev/null 2>&1; then
    exec cargo +nightly fuzz run -s none sip_judges corpus/sip_judges -- \
        -max_total_time="$seconds" -print_final_stats=1
fi
RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks" \
    cargo +nightly build --release --target x86_64-unknown-linux-gnu --bin sip_judges
exec ./target/x86_64-unknown-linux-gnu/release/sip_judges -artifact_prefix=artifacts/sip_judges/ \
    -max_total_time="$seconds" -print_final_stats=1 corpus/sip_judges
