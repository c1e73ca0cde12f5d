#!/bin/sh
# Test driver for `make test` (after build/ and build-asan/ are built):
#   1. every C unit-test binary in build/tests/ and build-asan/tests/
#      (each prints "N passed, N failed" as its last line),
#   2. the libFuzzer targets (scripts/fuzz.sh), built and run briefly,
#   3. the pytest integration suite against build/gaelic and, at the same
#      time, against build-asan/gaelic (ASan + UBSan, and LeakSanitizer for
#      the master: the instances turn it off).
# Prints each summary line and a final "N passed, N failed"; exits non-zero
# if anything failed, did not run, or ran no tests.
set -u
cd "$(dirname "$0")/.." || exit 2

PY=/usr/bin/python3
BUILD_DIR=${BUILD_DIR:-build}          # overridable for runs against other builds
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-120}
SUITE_TIMEOUT=${SUITE_TIMEOUT:-1200} # a hang guard: the two suites together take about 5 minutes here
TEST_WORKERS=${TEST_WORKERS:-2}      # pytest-xdist workers per suite
SAN_ENV="ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/gaelic-tests.XXXXXX") || exit 2

total_pass=0
total_fail=0
bad=0

add() { # add PASSED FAILED
    total_pass=$((total_pass + $1))
    total_fail=$((total_fail + $2))
}

# ---------------------------------------------------------------- unit tests
run_unit() { # run_unit DIR [env assignments...]
    dir=$1
    shift
    found=0
    for t in "$dir"/tests/test_*; do
        if [ ! -f "$t" ] || [ ! -x "$t" ]; then continue; fi
        case "$t" in *.d | *.o) continue ;; esac
        found=1
        name=$(basename "$t")
        log="$LOGDIR/unit-$(basename "$dir")-$name.log"
        env "$@" timeout -k 5 "$UNIT_TIMEOUT" "$t" >"$log" 2>&1
        rc=$?
        line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
        if [ -z "$line" ]; then
            echo "unit $dir/$name: no summary line (exit $rc); output:"
            tail -n 20 "$log" | sed 's/^/    /'
            add 0 1
            bad=1
            continue
        fi
        p=${line%% passed*}
        f=${line#*, }
        f=${f%% failed*}
        echo "unit $dir/$name: $line"
        if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
            grep -v -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 40 | sed 's/^/    /'
            bad=1
            [ "$f" -eq 0 ] && f=1 # a crash after the summary still fails
        fi
        add "$p" "$f"
    done
    if [ "$found" -eq 0 ]; then
        echo "unit $dir: no test binaries in $dir/tests/"
        bad=1
    fi
}

run_unit "$BUILD_DIR"
run_unit "$ASAN_BUILD_DIR" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# ---------------------------------------------------------------- fuzz targets
# Built from the sources as they are and run for a moment each, so that an
# interface change they missed fails here, not at the next `make fuzz`.
run_fuzz() {
    secs=${FUZZ_CHECK_SECONDS:-2}
    log="$LOGDIR/fuzz.log"
    FUZZ_SECONDS=$secs scripts/fuzz.sh >"$log" 2>&1
    rc=$?
    ran=$(grep -c -E '^fuzz: ' "$log")
    if [ "$rc" -ne 0 ] || [ "$ran" -eq 0 ]; then
        echo "fuzz targets: failed (exit $rc); output:"
        tail -n 40 "$log" | sed 's/^/    /'
        add 0 1
        bad=1
        return
    fi
    echo "fuzz targets: $ran built and ran ${secs}s each, 0 failed"
    add "$ran" 0
}
run_fuzz

# ---------------------------------------------------------------- integration
# count WORD LINE: the number before WORD in a pytest summary line (0 if none)
count() {
    n=$(printf '%s\n' "$2" | grep -o -E "[0-9]+ $1" | head -n 1 | cut -d' ' -f1)
    echo "${n:-0}"
}

# The two suites run at once, each with TEST_WORKERS pytest-xdist workers:
# the tests spend most of their time waiting on servers (timeouts, grace
# periods, instance starts), not on the CPU. --dist loadfile keeps each
# module on one worker, since a module's tests share its servers (mserve).
start_suite() { # start_suite LABEL BINARY [env assignments...]: sets suite_pid
    label=$1
    bin=$2
    shift 2
    suite_pid=
    if [ ! -x "$bin" ]; then
        return
    fi
    env GAELIC_BIN="$bin" "$@" timeout -k 10 "$SUITE_TIMEOUT" \
        "$PY" -m pytest -q -p no:cacheprovider -rfE -n "$TEST_WORKERS" --dist loadfile \
        --basetemp "$LOGDIR/tmp-$label" tests/integration >"$LOGDIR/integration-$label.log" 2>&1 &
    suite_pid=$!
}

finish_suite() { # finish_suite LABEL BINARY PID: waits for it and reports
    label=$1
    bin=$2
    if [ -z "$3" ]; then
        echo "integration ($label): $bin is missing"
        add 0 1
        bad=1
        return
    fi
    wait "$3"
    rc=$?
    log="$LOGDIR/integration-$label.log"
    echo "integration ($label): $bin"
    # pytest's final line, e.g. "3 failed, 120 passed, 1 error in 95.1s"
    line=$(grep -E '[0-9]+ (passed|failed|errors?|skipped|deselected|xfailed|xpassed)|no tests ran' "$log" | tail -n 1)
    p=$(count passed "$line")
    f=$(($(count failed "$line") + $(count "errors?" "$line")))
    if [ "$rc" -ne 0 ]; then
        # The failures in full (with the output of the servers they used),
        # bounded: CI shows only what this prints.
        sed -n -E '/^=+ (ERRORS|FAILURES) =+$/,/short test summary info/p' "$log" |
            grep -v -E '^=+ short test summary info =+$' | head -n 400 | sed 's/^/    /'
        sed -n '/short test summary info/,$p' "$log" | head -n 80 | sed 's/^/    /'
        case $rc in
            5) echo "    pytest ran no tests (exit 5)" ;;
            124 | 137) echo "    the suite did not finish within ${SUITE_TIMEOUT}s" ;;
        esac
        [ "$f" -eq 0 ] && f=1
        bad=1
    fi
    echo "integration ($label): ${line:-no summary line (exit $rc)}"
    echo "    full log: $log"
    add "$p" "$f"
}

start_suite build "$BUILD_DIR/gaelic"
build_pid=$suite_pid
# shellcheck disable=SC2086
start_suite asan "$ASAN_BUILD_DIR/gaelic" $SAN_ENV
asan_pid=$suite_pid
finish_suite build "$BUILD_DIR/gaelic" "$build_pid"
finish_suite asan "$ASAN_BUILD_DIR/gaelic" "$asan_pid"

echo "$total_pass passed, $total_fail failed"
[ "$bad" -eq 0 ] && [ "$total_fail" -eq 0 ]
