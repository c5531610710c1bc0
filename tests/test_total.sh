#!/bin/sh
# test_total.sh — the last line of `make test`: the counts of every build's runner added up, in
# the one form CI reads ("loopschool: N passed, N failed, N skipped"). A build whose runner never
# reported (it did not compile, or it crashed before writing) counts as one failure.
# Usage: tests/test_total.sh BUILD_DIR...
passed=0 failed=0 skipped=0 status=0
for build in "$@"; do
    if [ -r "$build/tests/counts" ]; then
        read -r p f s <"$build/tests/counts"
        passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
    else
        echo "$build: no test report (the runner did not build or did not run)"
        failed=$((failed + 1))
    fi
done
[ "$failed" -eq 0 ] || status=1
echo "loopschool: $passed passed, $failed failed, $skipped skipped"
exit $status
