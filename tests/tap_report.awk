# tap_report.awk — turns the runner's TAP report into one line per test, sorted by suite::test,
# each failure followed by its messages, and a last line for this build. Criterion's workers run
# in parallel and print as they finish; reading the report afterwards keeps their lines apart.
# Variables: rc (the runner's exit status), build (the build directory, for the last line),
# counts (a file that receives "passed failed skipped", which `make test` adds up).
function flush_test() {
    if (name != "")
        print block | "sort -s -t '\t' -k1,1 | cut -f2-"
    name = ""
}
/^(not )?ok / {
    flush_test()
    line = $0
    sub(/^(not )?ok( [0-9]+)? - /, "", line)
    name = line
    sub(/ .*/, "", name)
    rest = substr(line, length(name) + 2)
    if ($0 ~ /^not ok/) {
        failed++
        block = name "\tFAIL " name "  " rest
    } else if (rest ~ /# SKIP/) {
        skipped++
        reason = rest
        sub(/.*# SKIP */, "", reason)
        block = name "\tSKIP " name "  (" reason ")"
    } else {
        passed++
        block = name "\tok   " name
    }
    next
}
# A failure's details: the indented YAML block under its "not ok" line, messages included.
/^  / && name != "" && block ~ /\tFAIL / {
    detail = $0
    sub(/ \|\+$/, "", detail) # YAML's block marker after "- file:line:"
    if (detail !~ /^  (---|\.\.\.|assertions:|failures:)/)
        block = block "\n" name "\t     " detail
    next
}
END {
    flush_test()
    close("sort -s -t '\t' -k1,1 | cut -f2-")
    total = passed + failed + skipped
    if (total == 0 && rc == 0) {
        print build ": the runner reported no test at all" > "/dev/stderr"
        failed = 1
    } else if (rc != 0 && failed == 0) {
        print build ": the runner exited with status " rc " without a failing test in its report"
        failed = 1
    }
    if (failed)
        printf "%s: %d of %d tests FAILED (%d skipped)\n", build, failed, total, skipped
    else
        printf "%s: all %d tests passed (%d skipped)\n", build, passed, skipped
    print passed, failed, skipped > counts
    exit failed != 0
}
