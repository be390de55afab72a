# bench/bench.mk - `make bench`: the load benchmark (included by the Makefile).
#   make bench                                  1M contacts, 10 s per scenario
#   BENCH_CONTACTS=20000 BENCH_DURATION=3s make bench   quick check
#   make bench-webhooks                         webhooks and the change feed (bench/webhooks.sh)
#   bench/compare.sh OLD_BIN NEW_BIN get        two builds alternating, CPU per request (bench/README.md)
#   make soak                                   memory soak, 10 min (bench/soak.sh)
#   SOAK_DURATION=2m make soak                  a short one
# See bench/README.md for what they measure and the other BENCH_*/SOAK_* settings.

BENCH_GEN := $(BUILD)/bench-gen
BENCH_RECEIVER := $(BUILD)/bench-receiver

bench: all $(BENCH_GEN)
	@scripts/deps.sh bench
	BUILD=$(BUILD) bench/run.sh

$(BENCH_GEN): bench/gen.c $(LIB_OBJS) $(HDRS) | deps
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ bench/gen.c $(LIB_OBJS) $(LDLIBS)

$(BENCH_RECEIVER): bench/receiver.c | deps
	$(CC) $(CFLAGS) -o $@ bench/receiver.c

# Webhooks, deliveries and the change feed (bench/webhooks.sh).
.PHONY: bench-webhooks
bench-webhooks: all $(BENCH_RECEIVER)
	@scripts/deps.sh bench
	BUILD=$(BUILD) bench/webhooks.sh

# Not part of `make test`: ten minutes at half the measured capacity.
.PHONY: soak
soak: all
	@scripts/deps.sh bench
	bench/soak.sh
