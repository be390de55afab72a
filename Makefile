# Cairn: build, run, test, bench.
#   make          build build/cairn
#   make run      build and serve on ./cairn.db
#   make test     unit + black-box API tests, release and ASan/UBSan builds,
#                 on SQLite and on a throwaway PostgreSQL 15 cluster, the
#                 fuzzers (30 s each), the OpenAPI contract check and the
#                 MCP conformance suite
#   make bench    load benchmark (see bench/)
#   make soak     memory soak: 10 min at half capacity, heap flat (see bench/)
#   make fuzz     libFuzzer targets, 30 s each (see tests/fuzz/fuzz.mk)
CC ?= cc
PYTHON ?= python3
BUILD := build
CPPFLAGS := -Isrc -I/usr/include/postgresql -D_GNU_SOURCE -DH2O_USE_EPOLL=1
WARN := -Wall -Wextra -Werror -Wno-missing-field-initializers
CFLAGS := -std=c17 -O2 -g $(WARN) -pthread
SANFLAGS := -std=c17 -O1 -g $(WARN) -pthread -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDLIBS := -lh2o-evloop -lcurl -lssl -lcrypto -lz -ljansson -lsqlite3 -lpq -lm -pthread

SRCS := $(shell find src -name '*.c' | sort)
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))
HDRS := $(shell find src -name '*.h' -o -name '*.def' -o -name '*.inc')
FMT := $(SRCS) $(shell find src -name '*.h') $(UNIT_SRCS) bench/gen.c \
	$(wildcard tests/fuzz/*.c tests/fuzz/*.h)

OBJS := $(SRCS:%.c=$(BUILD)/obj/%.o)
ASAN_OBJS := $(SRCS:%.c=$(BUILD)/asan/obj/%.o)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
ASAN_LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/asan/obj/%.o)

.PHONY: all deps run test test-unit test-api test-contract test-mcp bench clean format check-format
all: $(BUILD)/cairn

# Installs the packages the build needs that are missing. Everything that
# runs the compiler lists it after `|` (order-only): make finishes it before
# starting any compiler whatever -j says, yet it never makes a target out of
# date. Phony, so every make checks again (`make run`, `make test` install
# what went missing).
deps:
	@scripts/deps.sh build

$(BUILD)/obj/%.o: %.c $(HDRS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/asan/obj/%.o: %.c $(HDRS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SANFLAGS) -c $< -o $@

$(BUILD)/cairn: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/asan/cairn: $(ASAN_OBJS)
	$(CC) $(SANFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit: $(UNIT_SRCS) $(LIB_OBJS) $(wildcard tests/unit/*.h) | deps
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/unit -o $@ $(UNIT_SRCS) $(LIB_OBJS) $(LDLIBS)

$(BUILD)/asan/unit: $(UNIT_SRCS) $(ASAN_LIB_OBJS) $(wildcard tests/unit/*.h) | deps
	$(CC) $(CPPFLAGS) $(SANFLAGS) -Itests/unit -o $@ $(UNIT_SRCS) $(ASAN_LIB_OBJS) $(LDLIBS)

run: all
	$(BUILD)/cairn serve --db ./cairn.db

ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

test:
	@scripts/deps.sh test
	$(MAKE) --no-print-directory check-format
	$(MAKE) --no-print-directory $(BUILD)/cairn $(BUILD)/asan/cairn $(BUILD)/unit $(BUILD)/asan/unit
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory test-unit test-api test-contract test-mcp

test-unit:
	$(BUILD)/unit
	$(ASAN_ENV) $(BUILD)/asan/unit
	scripts/with-postgres.sh $(BUILD)/unit

# The same suite on both backends: SQLite files, then a throwaway
# PostgreSQL cluster (scripts/with-postgres.sh removes it, also on failure).
test-api:
	CAIRN_BIN=$(BUILD)/cairn $(PYTHON) tests/api/run.py
	$(ASAN_ENV) CAIRN_BIN=$(BUILD)/asan/cairn $(PYTHON) tests/api/run.py
	CAIRN_BIN=$(BUILD)/cairn scripts/with-postgres.sh $(PYTHON) tests/api/run.py
	$(ASAN_ENV) CAIRN_BIN=$(BUILD)/asan/cairn scripts/with-postgres.sh $(PYTHON) tests/api/run.py

# The OpenAPI document served by the release build is linted (Redocly CLI,
# Spectral) and the API suite runs once more, on SQLite, through Prism's
# validating proxy: a lint problem or a contract violation fails it.
# scripts/node.sh installs Node 22 and the pinned tools into build/contract.
test-contract: $(BUILD)/cairn
	CAIRN_BIN=$(BUILD)/cairn $(PYTHON) tests/contract/check.py

# The official MCP conformance suite (pinned in tests/contract/package.json,
# installed by scripts/node.sh) against the release build's POST /mcp: every
# scenario it lists but those in tests/mcp/not-applicable.txt.
test-mcp: $(BUILD)/cairn
	CAIRN_BIN=$(BUILD)/cairn $(PYTHON) tests/mcp/conformance.py

# bench/bench.mk defines the `bench` target and its generator's build.
-include bench/bench.mk
# tests/fuzz/fuzz.mk defines `fuzz` and the fuzzers' clang build.
-include tests/fuzz/fuzz.mk

format:
	clang-format -i $(FMT)

check-format:
	clang-format --dry-run --Werror $(FMT)

clean:
	rm -rf $(BUILD)
