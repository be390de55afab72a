# tests/fuzz/fuzz.mk - `make fuzz`: the libFuzzer targets (included by the
# Makefile; see tests/fuzz/run.sh for what a run does).
#   make fuzz                      every target FUZZ_SECONDS (30) each, after
#                                  its committed regression inputs
#   make fuzz FUZZ_SECONDS=600     longer, by hand
#   make fuzz FUZZ_TARGETS=query   one target
# The product is built a third time, by clang with coverage instrumentation
# and ASan/UBSan, under build/fuzz/ (apart from the release and ASan builds).

FUZZ_CC := clang
FUZZ_TARGETS ?= http1 body query cursor json
FUZZ_SECONDS ?= 30
FUZZ_CFLAGS := -std=c17 -O1 -g $(WARN) -pthread -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_OBJS := $(LIB_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
# What a target links: its own sources and the objects. A harness that
# compiles a product file into itself (http1.c, cursor.c) lists that file
# and the headers too, so that a change to them rebuilds it.
FUZZ_LINK = $(filter tests/fuzz/%.c %.o,$^)

.PHONY: fuzz fuzz-build fuzz-deps
fuzz-deps:
	@scripts/deps.sh fuzz

$(BUILD)/fuzz/obj/%.o: %.c $(HDRS) | deps fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

# fuzz_http1.c compiles src/http/http1.c into itself, so that object stays out.
$(BUILD)/fuzz/http1: tests/fuzz/fuzz_http1.c tests/fuzz/fuzz.h src/http/http1.c $(HDRS) \
		$(filter-out %/src/http/http1.o,$(FUZZ_OBJS)) | fuzz-deps
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(FUZZ_LINK) $(LDLIBS)

# fuzz_cursor.c compiles src/resources/cursor.c into itself, to seal with its key.
$(BUILD)/fuzz/cursor: tests/fuzz/fuzz_cursor.c tests/fuzz/fuzz.h src/resources/cursor.c $(HDRS) \
		$(filter-out %/src/resources/cursor.o,$(FUZZ_OBJS)) | fuzz-deps
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(FUZZ_LINK) $(LDLIBS)

# fuzz_json.c needs no store: the parser and Jansson only.
$(BUILD)/fuzz/json: tests/fuzz/fuzz_json.c tests/fuzz/fuzz.h $(HDRS) $(FUZZ_OBJS) | fuzz-deps
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(FUZZ_LINK) $(LDLIBS)

$(BUILD)/fuzz/%: tests/fuzz/fuzz_%.c tests/fuzz/world.c tests/fuzz/world.h tests/fuzz/fuzz.h $(HDRS) $(FUZZ_OBJS) \
		| fuzz-deps
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Itests/fuzz -o $@ $(FUZZ_LINK) $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-deps
	$(MAKE) --no-print-directory fuzz-build
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 FUZZ_BUILD=$(BUILD) \
		tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)
