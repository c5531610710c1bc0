# loopschool — one non-recursive Makefile for the library, the lessons, the tests and the benchmarks.
# Every source is found by wildcard (adding a lesson, a module or a test needs no edit here) and
# every product lands under build/. `make help` lists the targets.

CC           ?= cc
BUILD        ?= build
OPT          ?= -O2
EXTRA_CFLAGS ?=
EXTRA_LDFLAGS ?=
# V=1 prints every compiler command; by default a build says one short line per file.
V            ?= 0

CFLAGS  = -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wpedantic -Werror -g $(OPT) -I. \
          $(EXTRA_CFLAGS)
LDLIBS  = -lpthread -lm
# Criterion's own headers live in the system include path; its library is plain -lcriterion.
# (pkg-config may not exist yet when this file is read on a fresh machine: `make test` installs it.)
CRITERION_LIBS = -lcriterion

SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

# ---- sources -------------------------------------------------------------------------------------
LIB_SRCS     := $(sort $(wildcard coro/*.c sched/*.c sched/*/*.c loop/*.c loop/*/*.c))
LESSON_DIRS  := $(sort $(patsubst %/,%,$(dir $(wildcard lessons/[0-9][0-9]-*/demo.c))))
TEST_SRCS    := $(sort $(wildcard tests/*_test.c lessons/*/*_test.c))
# While working on one part, `make TEST_ONLY='lessons/06-%' ...` builds a runner of just those tests.
ifneq ($(TEST_ONLY),)
TEST_SRCS    := $(filter $(TEST_ONLY),$(TEST_SRCS))
endif
BENCH_SRCS   := $(sort $(wildcard tests/bench/*_bench.c))
BENCHLIB_SRCS := $(sort $(wildcard tests/bench/lib/*.c))
# A lesson's extra .c files (neither demo.c nor a test) link into its demo and into the runner.
lesson_extras = $(filter-out %/demo.c %_test.c,$(wildcard $(1)/*.c))
LESSON_EXTRA_SRCS := $(foreach d,$(LESSON_DIRS),$(call lesson_extras,$(d)))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB         := $(BUILD)/libloopschool.a
DEMOS       := $(patsubst %,$(BUILD)/%/demo,$(LESSON_DIRS))
RUNNER      := $(BUILD)/tests/runner
BENCHES     := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

.PHONY: all run lesson test check bench debug clean help deps deps-check runner demos \
        run-tests bench-build layering format format-check view view-shots FORCE
.DEFAULT_GOAL := all
# Keep objects: they are intermediates of pattern rules, and make would otherwise delete them.
.SECONDARY:

ifeq ($(V),1)
Q    :=
say  := @:
else
Q    := @
say  := @printf '  %-4s %s\n'
endif

all: $(LIB) $(DEMOS)
demos: $(DEMOS)
runner: $(RUNNER)

# ---- compiling and linking -----------------------------------------------------------------------
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Tests learn where this build's demos are, so a test can start one (gdb walkthroughs).
$(call obj,$(TEST_SRCS)): CFLAGS += -DLOOPSCHOOL_BUILD_DIR=\"$(BUILD)\"

$(LIB): $(call obj,$(LIB_SRCS))
	@mkdir -p $(@D)
	$(say) AR $@
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

# Demos link the whole library, so every *_dump is in the binary for gdb's `call`, even those
# the demo itself never calls.
define lesson_demo_rule
$(BUILD)/$(1)/demo: $(call obj,$(1)/demo.c $(call lesson_extras,$(1))) $(LIB)
	@mkdir -p $$(@D)
	$$(say) LINK $$@
	$(Q)$$(CC) $$(CFLAGS) $$(EXTRA_LDFLAGS) -o $$@ $$(filter-out $(LIB),$$^) \
	    -Wl,--whole-archive $(LIB) -Wl,--no-whole-archive $$(LDLIBS)
endef
$(foreach d,$(LESSON_DIRS),$(eval $(call lesson_demo_rule,$(d))))

# The runner records the test sources it was linked from, and relinks when that list changes:
# a runner built with TEST_ONLY is never taken for the full one, nor the other way round.
RUNNER_SOURCES := $(BUILD)/tests/runner.sources
$(RUNNER_SOURCES): FORCE
	@mkdir -p $(@D)
	@echo '$(TEST_SRCS) $(LESSON_EXTRA_SRCS)' | cmp -s - $@ 2>/dev/null || \
	  echo '$(TEST_SRCS) $(LESSON_EXTRA_SRCS)' > $@

$(RUNNER): $(call obj,$(TEST_SRCS) $(LESSON_EXTRA_SRCS)) $(LIB) $(RUNNER_SOURCES)
	@mkdir -p $(@D)
	$(say) LINK $@
	$(Q)$(CC) $(CFLAGS) $(EXTRA_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(CRITERION_LIBS) $(LDLIBS)

$(BUILD)/bench/%: $(call obj,tests/bench/%.c) $(call obj,$(BENCHLIB_SRCS)) $(LIB)
	@mkdir -p $(@D)
	$(say) LINK $@
	$(Q)$(CC) $(CFLAGS) $(EXTRA_LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- the tour ------------------------------------------------------------------------------------
# Each banner's title is the first line of the lesson's README and its question the first line
# under "## Question", so the tour always says what the lesson says. The demos are built first,
# quietly (V=1 shows the commands; a compiler error is still printed), so the tour starts with
# the first banner. PAUSE=1 waits for Enter before each lesson after the first.
run:
	@$(MAKE) --no-print-directory demos $(if $(filter 1,$(V)),,>/dev/null)
	@first=1; for d in $(LESSON_DIRS); do \
	  if [ -n "$(PAUSE)" ] && [ "$(PAUSE)" != 0 ] && [ -z "$$first" ]; then \
	    printf '\n(press Enter for the next lesson) '; read -r _ || true; fi; first=; \
	  title=$$(sed -n '1s/^# *//p' $$d/README.md 2>/dev/null); \
	  question=$$(awk '/^## *Question/{f=1;next} f&&NF{print;exit}' $$d/README.md 2>/dev/null); \
	  printf '\n================================================================\n'; \
	  printf '%s\n' "$${title:-$$d}" "$$question" | fold -s -w 86 | sed 's/ *$$//; s/^/  /'; \
	  printf '================================================================\n'; \
	  $(BUILD)/$$d/demo || { echo "tour: the demo of $$d failed" >&2; exit 1; }; \
	done; printf '\nThe tour is over: %s lessons.\n' "$(words $(LESSON_DIRS))"

# The shell lines `make lesson` and `make view` share: $$d becomes the folder of lesson L (L=5 and
# L=05 name the same lesson), or the target stops with a sentence; then that demo is built.
find_lesson = case "$(L)" in ''|*[!0-9]*) echo "usage: make $(1) L=NN (a lesson number, e.g. \
	L=5)" >&2; exit 2;; esac; \
	d=$$(ls -d lessons/$(L)-* lessons/0$(L)-* 2>/dev/null | head -1); \
	test -n "$$d" || { echo "no lesson $(L) under lessons/" >&2; exit 2; }
build_demo = $(MAKE) --no-print-directory $(BUILD)/$$d/demo $(if $(filter 1,$(V)),,>/dev/null)

lesson:
	@$(call find_lesson,lesson); $(build_demo) && $(BUILD)/$$d/demo

# ---- the tick viewer -----------------------------------------------------------------------------
# `make view L=5`: the lesson's demo records every tick (a demo with a choice of clocks records on
# its virtual one) into ONE self-contained page under build/view/, and the path is printed.
# `make view-shots` retakes each recorded lesson's screenshot (LESSON/watch.png) with headless
# Chromium, at the tick and step named in VIEW_SHOTS; the tests never do.
VIEW_SHOTS = 02:tick=3\&step=3 04:tick=2\&step=5 05:tick=1\&step=1 08:tick=6\&step=4 \
             09:tick=6\&step=5 10:tick=3\&step=4
view:
	@$(call find_lesson,view); \
	grep -q record_cli $$d/demo.c || { echo "$$d's demo has no --record" >&2; exit 2; }; \
	slug=$${d#lessons/}; \
	$(build_demo) && mkdir -p $(BUILD)/view && \
	$(BUILD)/$$d/demo --record $(BUILD)/view/$$slug.html >/dev/null && \
	echo "$(BUILD)/view/$$slug.html"

view-shots:
	@command -v chromium >/dev/null || { echo "view-shots needs chromium: apt-get install chromium" >&2; \
	  exit 2; }; \
	for shot in $(VIEW_SHOTS); do n=$${shot%%:*}; query=$${shot#*:}; \
	  page=$$($(MAKE) --no-print-directory view L=$$n) || exit 1; \
	  d=$$(ls -d lessons/$$n-*); profile=$$(mktemp -d); \
	  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
	    --disable-component-update --disable-sync --no-first-run --user-data-dir=$$profile \
	    --hide-scrollbars --screenshot=$$d/watch.png --window-size=1280,800 \
	    "file://$(CURDIR)/$$page?$$query" >/dev/null 2>&1; rm -rf $$profile; \
	  test -s $$d/watch.png || { echo "no screenshot for $$d" >&2; exit 1; }; \
	  echo "$$d/watch.png ($$query)"; done

# ---- tests ---------------------------------------------------------------------------------------
# A fresh machine may lack Criterion (and pkg-config, gdb, valgrind): install them, as root
# directly or through sudo, or say the one command to run.
define install_missing
	@missing=""; \
	{ command -v pkg-config >/dev/null && pkg-config --exists criterion; } || missing=" pkg-config libcriterion-dev"; \
	for tool in $(1); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; \
	  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; \
	  else echo "loopschool needs:$$missing. Run:" >&2; \
	    echo "  sudo apt-get update && sudo apt-get install -y$$missing" >&2; exit 1; fi; \
	  echo "installing:$$missing"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null || \
	  { echo "could not install:$$missing. Run:" >&2; \
	    echo "  sudo apt-get update && sudo apt-get install -y$$missing" >&2; exit 1; }; \
	fi
endef

deps:
	$(call install_missing,gdb python3 redis-server)
deps-check:
	$(call install_missing,gdb valgrind python3 redis-server)

# The same runner is built twice: the portable switch coroutines and the labels-as-values ones.
# Both run even if the first fails; the last line is one verdict over both, which CI reads.
TEST_BUILDS = $(BUILD) $(BUILD)/labels
test: deps
	@rm -f $(addsuffix /tests/counts,$(TEST_BUILDS))
	@ok=0; $(MAKE) --no-print-directory BUILD=$(BUILD) run-tests || ok=1; \
	$(MAKE) --no-print-directory BUILD=$(BUILD)/labels EXTRA_CFLAGS="$(EXTRA_CFLAGS) -DCORO_USE_LABELS" \
	  run-tests || ok=1; \
	sh tests/test_total.sh $(TEST_BUILDS) && exit $$ok

# The runner's workers run in parallel, so its report is written to files and printed afterwards:
# one line per test, sorted, failures with their messages, then the runner's own log if anything
# failed or crashed. $(BUILD)/tests/counts keeps "passed failed skipped" for `make test`'s total.
run-tests: $(RUNNER) demos
	@rm -f $(BUILD)/tests/counts $(BUILD)/tests/report.tap; rc=0; \
	$(RUNNER) --tap=$(BUILD)/tests/report.tap >$(BUILD)/tests/runner.log 2>&1 || rc=$$?; \
	awk -v rc=$$rc -v build=$(BUILD) -v counts=$(BUILD)/tests/counts \
	    -f tests/tap_report.awk $(BUILD)/tests/report.tap || rc=1; \
	if [ $$rc != 0 ]; then echo "---- $(RUNNER)'s own log:"; cat $(BUILD)/tests/runner.log; fi; \
	exit $$rc

CHECK_DIR = build/check
VALGRIND  = valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
            --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
            --trace-children=yes --trace-children-skip='*/gdb,*/sh,*/bash,*/env,*/redis-server' \
            --suppressions=tests/valgrind.supp \
            --log-file=$(CHECK_DIR)/vg.%p

# Criterion runs each test in a worker process, and a worker's sanitizer or valgrind report does
# not change the runner's exit code. So reports go to files, and any report fails the check.
# One test at a time (-j1): Criterion 2.4's runner itself leaks a few bytes when tests with
# different .timeout values overlap, and that must not hide, or be confused with, ours.
check: deps-check layering
	$(MAKE) --no-print-directory BUILD=build/asan EXTRA_CFLAGS="$(SAN_FLAGS)" \
	        EXTRA_LDFLAGS="$(SAN_FLAGS)" runner demos
	$(MAKE) --no-print-directory runner demos
	@rm -rf $(CHECK_DIR) && mkdir -p $(CHECK_DIR)
	@echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
	ASAN_OPTIONS=log_path=$(CURDIR)/$(CHECK_DIR)/asan:detect_leaks=1 \
	UBSAN_OPTIONS=log_path=$(CURDIR)/$(CHECK_DIR)/ubsan:print_stacktrace=1:halt_on_error=1 \
	  LOOPSCHOOL_CHECK=1 build/asan/tests/runner -j1
	@if ls $(CHECK_DIR)/asan.* $(CHECK_DIR)/ubsan.* 2>/dev/null | grep -q .; then \
	  cat $(CHECK_DIR)/asan.* $(CHECK_DIR)/ubsan.* 2>/dev/null; \
	  echo "make check: the sanitizers reported errors (above)" >&2; exit 1; fi
	@echo "== valgrind"
	ulimit -n 4096 2>/dev/null || true; LOOPSCHOOL_CHECK=1 $(VALGRIND) $(RUNNER) -j1
	@bad=$$(grep -l -E 'ERROR SUMMARY: [1-9]' $(CHECK_DIR)/vg.* 2>/dev/null); \
	if [ -n "$$bad" ]; then cat $$bad; echo "make check: valgrind reported errors in: $$bad" >&2; exit 1; fi; \
	checked=$$(grep -l 'ERROR SUMMARY: 0 errors' $(CHECK_DIR)/vg.* 2>/dev/null | wc -l); \
	[ "$$checked" -gt 0 ] || { echo "make check: valgrind checked no process" >&2; exit 1; }; \
	echo "make check: sanitizers and valgrind clean ($$checked processes checked; logs without a"; \
	echo "summary are processes that exec'd an untraced program such as gdb or a shell)"

# ---- benchmarks ----------------------------------------------------------------------------------
# asyncio's figures for the same workloads are measured first, in the same run, and each C row
# that has a twin workload prints asyncio's figure beside its own.
ASYNCIO_FIGURES = build/bench/asyncio-figures.tsv
bench:
	$(MAKE) --no-print-directory BUILD=build/bench EXTRA_CFLAGS=-DNDEBUG bench-build
	@if command -v python3 >/dev/null 2>&1; then \
	  echo "measuring asyncio on the same workloads (python3 tests/bench/asyncio_bench.py)..."; \
	  python3 tests/bench/asyncio_bench.py > $(ASYNCIO_FIGURES) || exit 1; \
	  sed -n '1s/^python\t\([^\t]*\).*/asyncio figures from Python \1/p' $(ASYNCIO_FIGURES); \
	else echo "python3 not found" > $(ASYNCIO_FIGURES); echo "python3 not found: no asyncio column"; fi
	@printf '%-46s | %12s | %-8s | %-40s | %-8s | %s\n' benchmark figure unit "baseline (same run)" ratio \
	  "asyncio (same run)"
	@printf '%s\n' "-------------------------------------------------------------------------------------------------------------------------------------------"
	@for b in $(patsubst $(BUILD)/%,build/bench/%,$(BENCHES)); do \
	  LOOPSCHOOL_ASYNCIO_FIGURES=$(ASYNCIO_FIGURES) $$b || exit 1; done

bench-build: $(BENCHES)

# ---- the house rules -----------------------------------------------------------------------------
# Every #include points to its own folder or an earlier layer, no cycles, no lesson included
# from outside lessons/ (tests/layering.py says why each rule exists).
layering:
	python3 tests/layering.py

# The tracked C files, formatted by .clang-format.
FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRCS)
format-check:
	clang-format --dry-run -Werror $(FORMAT_SRCS)

# ---- the rest ------------------------------------------------------------------------------------
debug:
	$(MAKE) --no-print-directory BUILD=build/debug OPT="-O0 -g3" all

clean:
	rm -rf build

HELP = \
  "make, make all|the library and every lesson's demo, under build/" \
  "make demos|every lesson's demo" \
  "make run|the tour: every demo in order (needs only cc and make)" \
  "make run PAUSE=1|the tour, waiting for Enter between lessons" \
  "make lesson L=5|one lesson's demo (L=5 and L=05 alike)" \
  "make view L=5|one lesson's ticks as a page to step through (build/view/)" \
  "make view-shots|retake the lessons' watch.png screenshots (chromium)" \
  "make test|every test, switch and labels coroutines; one verdict" \
  "make run-tests|build and run this build's runner once" \
  "make TEST_ONLY=PAT run-tests|only tests whose source matches PAT ('lessons/01-%')" \
  "make runner|build the test runner (build/tests/runner)" \
  "make deps, make deps-check|install what make test / make check need" \
  "make check|layering, then the tests under ASan+UBSan and valgrind" \
  "make layering|includes follow the layers; no cycles" \
  "make bench|the benchmarks, each beside its same-run baseline" \
  "make bench-build|build the benchmarks without running them" \
  "make debug|everything at -O0 -g3 in build/debug/ for gdb" \
  "make format|format the tracked C files (clang-format)" \
  "make format-check|fail if a tracked C file is not formatted" \
  "make clean|remove build/" \
  "make help|this list" \
  "V=1|with any target: print every compiler command" \
  "CC=clang BUILD=DIR|with any target: another compiler and build directory"

help:
	@for line in $(HELP); do \
	  printf '%-29s %s\n' "$${line%%|*}" "$${line#*|}"; done
