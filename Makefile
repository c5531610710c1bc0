# loopschool — one non-recursive Makefile for the library, the lessons, the tests and the benchmarks.
# Every source is found by wildcard (adding a lesson, a module or a test needs no edit here) and
# every product lands under build/. `make help` lists the targets.

CC           ?= cc
BUILD        ?= build
OPT          ?= -O2
EXTRA_CFLAGS ?=
EXTRA_LDFLAGS ?=

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
        run-tests run-labels-tests bench-build
.DEFAULT_GOAL := all
# Keep objects: they are intermediates of pattern rules, and make would otherwise delete them.
.SECONDARY:

all: $(LIB) $(DEMOS)
demos: $(DEMOS)
runner: $(RUNNER)

# ---- compiling and linking -----------------------------------------------------------------------
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Tests learn where this build's demos are, so a test can start one (gdb walkthroughs).
$(call obj,$(TEST_SRCS)): CFLAGS += -DLOOPSCHOOL_BUILD_DIR=\"$(BUILD)\"

$(LIB): $(call obj,$(LIB_SRCS))
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

# Demos link the whole library, so every *_dump is in the binary for gdb's `call`, even those
# the demo itself never calls.
define lesson_demo_rule
$(BUILD)/$(1)/demo: $(call obj,$(1)/demo.c $(call lesson_extras,$(1))) $(LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$(EXTRA_LDFLAGS) -o $$@ $$(filter-out $(LIB),$$^) \
	    -Wl,--whole-archive $(LIB) -Wl,--no-whole-archive $$(LDLIBS)
endef
$(foreach d,$(LESSON_DIRS),$(eval $(call lesson_demo_rule,$(d))))

$(RUNNER): $(call obj,$(TEST_SRCS) $(LESSON_EXTRA_SRCS)) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(EXTRA_LDFLAGS) -o $@ $^ $(CRITERION_LIBS) $(LDLIBS)

$(BUILD)/bench/%: $(call obj,tests/bench/%.c) $(call obj,$(BENCHLIB_SRCS)) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(EXTRA_LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- the tour ------------------------------------------------------------------------------------
# Each banner's title is the first line of the lesson's README and its question the first line
# under "## Question", so the tour always says what the lesson says.
run: $(DEMOS)
	@for d in $(LESSON_DIRS); do \
	  title=$$(sed -n '1s/^# *//p' $$d/README.md 2>/dev/null); \
	  question=$$(awk '/^## *Question/{f=1;next} f&&NF{print;exit}' $$d/README.md 2>/dev/null); \
	  printf '\n================================================================\n'; \
	  printf '  %s\n  %s\n' "$${title:-$$d}" "$$question"; \
	  printf '================================================================\n'; \
	  $(BUILD)/$$d/demo || { echo "tour: the demo of $$d failed" >&2; exit 1; }; \
	done; printf '\nThe tour is over: %s lessons.\n' "$(words $(LESSON_DIRS))"

lesson: $(DEMOS)
	@test -n "$(L)" || { echo "usage: make lesson L=NN" >&2; exit 2; }
	@d=$$(ls -d lessons/$(L)-* 2>/dev/null | head -1); \
	test -n "$$d" || { echo "no lesson $(L) under lessons/" >&2; exit 2; }; \
	$(BUILD)/$$d/demo

# ---- tests ---------------------------------------------------------------------------------------
# A fresh machine may lack Criterion (and pkg-config, gdb, valgrind): install them, as root
# directly or through sudo, or say the one command to run.
define install_missing
	@missing=""; \
	{ command -v pkg-config >/dev/null && pkg-config --exists criterion; } || missing="pkg-config libcriterion-dev"; \
	for tool in $(1); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; \
	  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; \
	  else echo "loopschool needs:$$missing. Run: sudo apt-get install -y$$missing" >&2; exit 1; fi; \
	  echo "installing:$$missing"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null || \
	  { echo "could not install:$$missing. Run: sudo apt-get install -y$$missing" >&2; exit 1; }; \
	fi
endef

deps:
	$(call install_missing,gdb python3)
deps-check:
	$(call install_missing,gdb valgrind python3)

# The same runner is built twice: the portable switch coroutines and the labels-as-values ones.
test: deps
	$(MAKE) --no-print-directory run-tests
	$(MAKE) --no-print-directory BUILD=build/labels EXTRA_CFLAGS=-DCORO_USE_LABELS run-tests

run-tests: $(RUNNER) $(DEMOS)
	$(RUNNER) --verbose

CHECK_DIR = build/check
VALGRIND  = valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
            --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
            --trace-children=yes --trace-children-skip='*/gdb,*/sh,*/bash,*/env' \
            --suppressions=tests/valgrind.supp \
            --log-file=$(CHECK_DIR)/vg.%p

# Criterion runs each test in a worker process, and a worker's sanitizer or valgrind report does
# not change the runner's exit code. So reports go to files, and any report fails the check.
# One test at a time (-j1): Criterion 2.4's runner itself leaks a few bytes when tests with
# different .timeout values overlap, and that must not hide, or be confused with, ours.
check: deps-check
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

# ---- the rest ------------------------------------------------------------------------------------
debug:
	$(MAKE) --no-print-directory BUILD=build/debug OPT="-O0 -g3" all

clean:
	rm -rf build

help:
	@echo "make            build the library and every lesson's demo (build/)"
	@echo "make run        the tour: every lesson's demo in order (needs only cc and make)"
	@echo "make lesson L=NN  run one lesson's demo"
	@echo "make test       install Criterion if missing, build and run every test (switch and labels coroutines)"
	@echo "make check      the tests under ASan+UBSan, then under valgrind; fails on any report"
	@echo "make bench      the benchmarks, each beside its baseline measured in the same run"
	@echo "make debug      build everything at -O0 -g3 into build/debug/ for gdb"
	@echo "make clean      remove build/"
