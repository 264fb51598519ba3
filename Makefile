# ordpipe: five NDJSON filters for a streaming order pipeline.
# make check   installs what is missing, builds, runs every test
# make run     the main job
# make bench   throughput and memory against peers

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
EXDIR ?= $(PREFIX)/share/ordpipe/examples
CC ?= cc
CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config
SANITIZE ?=

PROGS = ordgen winagg kcat-in kcat-out mysql-replace
LIBS_PC = rdkafka json-c libmariadb

ifeq ($(SANITIZE),1)
B = build/san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
B = build/rel
SANFLAGS =
endif

WARN = -Wall -Wextra -Wpedantic -Werror -Wmissing-prototypes -Wstrict-prototypes -Wshadow \
       -Wformat=2 -Wvla -Wno-unused-parameter
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -pthread $(WARN) $(SANFLAGS) -Icommon \
             $(shell $(PKG_CONFIG) --cflags $(LIBS_PC) 2>/dev/null) $(CFLAGS)
ALL_LDFLAGS = -pthread $(SANFLAGS) $(LDFLAGS)
LDLIBS = $(shell $(PKG_CONFIG) --libs $(LIBS_PC) 2>/dev/null) -lm

COMMON_SRC = $(wildcard common/*.c)
COMMON_OBJ = $(COMMON_SRC:common/%.c=$(B)/common/%.o)
LIB = $(B)/libordpipe.a
BINS = $(PROGS:%=$(B)/bin/%)
UNIT = $(B)/tests/unit/test_common
HELPERS = $(B)/tests/helpers/kbroker $(B)/tests/helpers/enospc.so $(B)/tests/helpers/failcommit.so

.PHONY: all check run bench chaos install uninstall clean deps format unit
.DEFAULT_GOAL := all

all: $(BINS) $(UNIT) $(HELPERS)

$(B)/common/%.o: common/%.c $(wildcard common/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(COMMON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/cmd/%.o: cmd/%.c $(wildcard common/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Each program links only the libraries it uses (ldd ordgen: no Kafka, no MySQL).
LIBS_ordgen =
LIBS_winagg =
LIBS_kcat-in = rdkafka
LIBS_kcat-out = rdkafka
LIBS_mysql-replace = libmariadb

$(B)/bin/%: $(B)/cmd/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(if $(LIBS_$*),$(shell $(PKG_CONFIG) --libs $(LIBS_$*))) -lm

$(UNIT): tests/unit/test_common.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# The shim is preloaded into sanitized programs too: built plain.
$(B)/tests/helpers/enospc.so: tests/helpers/enospc.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $< -ldl

$(B)/tests/helpers/failcommit.so: tests/helpers/failcommit.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $< -ldl

$(B)/tests/helpers/%: tests/helpers/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

deps:
	@sh tests/helpers/deps.sh

check: deps
	@$(MAKE) --no-print-directory all
	@ORDPIPE_BIN=$(abspath $(B)/bin) ORDPIPE_HELPERS=$(abspath $(B)/tests/helpers) \
	    ORDPIPE_UNIT=$(abspath $(UNIT)) sh tests/run.sh

run: deps
	@$(MAKE) --no-print-directory all
	@ORDPIPE_BIN=$(abspath $(B)/bin) ORDPIPE_HELPERS=$(abspath $(B)/tests/helpers) bash examples/run-main.sh

# make chaos ROUNDS=50 [SEED=N] [CHAOS_KIND=sessions]: the long chaos test of crash-safe restart
ROUNDS ?= 50
chaos: deps
	@$(MAKE) --no-print-directory all
	@ORDPIPE_BIN=$(abspath $(B)/bin) ORDPIPE_HELPERS=$(abspath $(B)/tests/helpers) \
	    bash tests/helpers/chaos.sh $(ROUNDS) $(SEED)

bench: deps
	@$(MAKE) --no-print-directory all
	@ORDPIPE_BIN=$(abspath $(B)/bin) sh tests/bench/run.sh

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	for p in $(PROGS); do install -m 755 $(B)/bin/$$p $(DESTDIR)$(BINDIR)/$$p; done
	for p in $(PROGS); do install -m 644 man/$$p.1 $(DESTDIR)$(MANDIR)/man1/$$p.1; done
	install -m 644 man/ordpipe.7 $(DESTDIR)$(MANDIR)/man7/ordpipe.7
	mkdir -p $(DESTDIR)$(EXDIR)/systemd $(DESTDIR)$(EXDIR)/monitoring
	install -m 755 examples/etl.sh examples/producer.sh $(DESTDIR)$(EXDIR)/
	install -m 644 examples/stages.sh examples/ordpipe.env examples/crontab $(DESTDIR)$(EXDIR)/
	install -m 644 examples/systemd/*.service $(DESTDIR)$(EXDIR)/systemd/
	install -m 644 examples/monitoring/* $(DESTDIR)$(EXDIR)/monitoring/

uninstall:
	for p in $(PROGS); do rm -f $(DESTDIR)$(BINDIR)/$$p $(DESTDIR)$(MANDIR)/man1/$$p.1; done
	rm -f $(DESTDIR)$(MANDIR)/man7/ordpipe.7
	rm -rf $(DESTDIR)$(EXDIR)
	-rmdir $(DESTDIR)$(PREFIX)/share/ordpipe 2>/dev/null

format:
	clang-format -i cmd/*.c common/*.c common/*.h tests/unit/*.c

clean:
	rm -rf build
