# bulkhead: container network micro-segmentation for Docker hosts.
#   make            build build/bulkheadd, build/bulkhead, build/bulkhead-capture
#   sudo make run   install missing packages, start Docker if needed, run bulkheadd on rules/
#   sudo make check install missing packages, build, run every test
#   make unit       unit tests only (no root)

CC	?= cc
PKGS	 = libnftnl libmnl libnl-3.0 libnl-route-3.0 jansson libpcap libcurl libmicrohttpd libseccomp
CFLAGS	?= -O2 -g
# What the build needs whatever CFLAGS the caller chose.
ALL_CFLAGS = $(CFLAGS) -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter \
	   -Wstrict-prototypes -Wmissing-prototypes -Iinclude \
	   -D_GNU_SOURCE -DBULKHEAD_VERSION=\"$(VERSION)\"
VERSION	 = 0.1.0
B	?= build

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)

# Pure modules: libc and jansson only; unit-tested without root.
COMMON	 = src/log.c src/util.c src/labels.c src/errlist.c
LANG	 = src/selector.c src/jsonloc.c src/policy.c src/k8s.c src/evaluate.c
PURE	 = $(LANG) src/explain.c src/probeplan.c src/audit.c src/inventory.c src/docker_parse.c src/ir.c src/ir_diff.c \
	   src/compile.c src/snapshot.c src/control_proto.c src/quarantine.c src/metrics.c \
	   src/plandiff.c src/pidfile.c
# One file per outside library.
DAEMON	 = src/docker.c src/link.c src/nft.c src/control.c src/controller.c \
	   src/metrics_http.c src/notify.c src/privs.c src/bulkheadd.c
CLI	 = tools/bulkhead.c tools/verify.c tools/probe.c tools/audit.c
# Pure parts of the capture tool, unit-tested; libpcap only in capture.c.
CAPTURE_PURE = tools/nflog.c tools/identity.c tools/filter.c tools/flows.c \
	       tools/account.c
CAPTURE	 = $(CAPTURE_PURE) src/selector.c src/control_proto.c tools/statusfetch.c \
	   tools/capture.c

LIBS_DAEMON	= $(shell pkg-config --libs libnftnl libmnl libnl-3.0 libnl-route-3.0 jansson libcurl libmicrohttpd libseccomp) -pthread
LIBS_CLI	= $(shell pkg-config --libs jansson)
LIBS_CAPTURE	= $(shell pkg-config --libs libpcap jansson)
LIBS_UNIT	= $(shell pkg-config --libs jansson cmocka)

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

all: $(B)/bulkheadd $(B)/bulkhead $(B)/bulkhead-capture

$(B)/obj/%.o: %.c $(wildcard include/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(B)/bulkheadd: $(call obj,$(COMMON) $(PURE) $(DAEMON))
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS_DAEMON) $(LDFLAGS)

$(B)/bulkhead: $(call obj,$(COMMON) $(PURE) $(CLI))
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS_CLI) $(LDFLAGS)

$(B)/bulkhead-capture: $(call obj,$(COMMON) $(CAPTURE))
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS_CAPTURE) $(LDFLAGS)

# ---- unit tests (cmocka, no root) ----
UNIT_TESTS = $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
UNIT_BINS  = $(addprefix $(B)/tests/,$(UNIT_TESTS))

$(B)/tests/test_%: tests/unit/test_%.c $(call obj,$(COMMON) $(PURE) $(CAPTURE_PURE))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) -Itests/unit -o $@ $^ $(LIBS_UNIT) $(LDFLAGS)

# The listener's test drives the daemon's own control.c over a real socket.
$(B)/tests/test_listener: $(call obj,src/control.c)

unit-bins: $(UNIT_BINS)

# ---- end-to-end test programs (root, real kernel, real Docker) ----
E2E_TESTS = $(patsubst tests/e2e/%.c,%,$(wildcard tests/e2e/*_test.c))
E2E_BINS  = $(addprefix $(B)/e2e/,$(E2E_TESTS))
E2E_OBJS  = $(COMMON) $(PURE) src/docker.c src/link.c src/nft.c

$(B)/e2e/%: tests/e2e/%.c $(call obj,$(E2E_OBJS))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) -o $@ $^ $(LIBS_DAEMON) $(LDFLAGS)

# Helpers the e2e scripts run (no libraries).
E2E_HELPERS = $(B)/e2e/udp_burst

$(B)/e2e/udp_burst: tests/e2e/udp_burst.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS)

e2e-bins: $(E2E_BINS) $(E2E_HELPERS)

unit: unit-bins
	@tests/run-unit.sh $(B)/tests $(UNIT_TESTS)

# The unit tests, and bulkheadd for one end-to-end run, under
# AddressSanitizer and UndefinedBehaviorSanitizer.
asan:
	$(MAKE) B=build/asan CC=clang \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" unit-bins build/asan/bulkheadd

# ---- libFuzzer targets for the parsers of untrusted input ----
FUZZ_TARGETS	= $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS	?= 20
FUZZ_CFLAGS	= -std=gnu11 -O1 -g -Iinclude -D_GNU_SOURCE -DBULKHEAD_VERSION=\"$(VERSION)\" \
		  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

build/fuzz/%: tests/fuzz/%.c $(COMMON) $(PURE) $(CAPTURE_PURE) $(wildcard include/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(COMMON) $(PURE) $(CAPTURE_PURE) $(LIBS_UNIT)

fuzz-bins: $(addprefix build/fuzz/,$(FUZZ_TARGETS))

fuzz: fuzz-bins
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

deps:
	@tools/install-deps.sh

# ---- what the README promises ----
run: deps all
	@tools/docker-up.sh
	install -d /run/bulkhead
	$(B)/bulkheadd --rules rules --foreground

check: deps
	$(MAKE) all unit-bins e2e-bins
	$(MAKE) asan fuzz-bins
	@tests/run-all.sh

# Root: a three-tier application, allowed and blocked flows, then cleanup.
demo: deps all
	@tools/demo.sh

# Root; not part of check.  Knobs: see tools/bench/run.sh.
bench: deps all
	tools/bench/run.sh

# ---- installation (PREFIX and DESTDIR honoured; no root needed with DESTDIR) ----
PREFIX		?= /usr/local
SBINDIR		?= $(PREFIX)/sbin
MANDIR		?= $(PREFIX)/share/man
DATADIR		?= $(PREFIX)/share/bulkhead
UNITDIR		?= $(PREFIX)/lib/systemd/system
SYSCONFDIR	?= /etc
BINS		 = bulkheadd bulkhead bulkhead-capture
MAN8		 = bulkheadd.8 bulkhead.8 bulkhead-capture.8
MAN5		 = bulkhead-policy.5
RULES		 = $(notdir $(wildcard rules/*.json)) README.md

# The pages and the unit name /usr/local paths: rewritten for PREFIX.  The
# example rules go to DATADIR; $(SYSCONFDIR)/bulkhead/rules, the daemon's
# default, is created empty when absent (no policy: nothing restricted)
# and never overwritten.
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DATADIR)/rules
	install -m 0755 $(addprefix $(B)/,$(BINS)) $(DESTDIR)$(SBINDIR)/
	for m in $(MAN8); do sed 's|/usr/local|$(PREFIX)|g' man/$$m \
	    >$(DESTDIR)$(MANDIR)/man8/$$m && chmod 0644 $(DESTDIR)$(MANDIR)/man8/$$m || exit 1; done
	for m in $(MAN5); do sed 's|/usr/local|$(PREFIX)|g' man/$$m \
	    >$(DESTDIR)$(MANDIR)/man5/$$m && chmod 0644 $(DESTDIR)$(MANDIR)/man5/$$m || exit 1; done
	sed 's|/usr/local/sbin|$(SBINDIR)|g' tools/bulkheadd.service \
	    >$(DESTDIR)$(UNITDIR)/bulkheadd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/bulkheadd.service
	install -m 0644 $(addprefix rules/,$(RULES)) $(DESTDIR)$(DATADIR)/rules/
	[ -d $(DESTDIR)$(SYSCONFDIR)/bulkhead/rules ] || \
	    install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/bulkhead/rules

# Removes what install wrote; the rules directory only when empty.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(BINS)) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(MAN8)) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(MAN5)) \
	    $(DESTDIR)$(UNITDIR)/bulkheadd.service \
	    $(addprefix $(DESTDIR)$(DATADIR)/rules/,$(RULES))
	rmdir $(DESTDIR)$(DATADIR)/rules $(DESTDIR)$(DATADIR) 2>/dev/null || true
	rmdir $(DESTDIR)$(SYSCONFDIR)/bulkhead/rules $(DESTDIR)$(SYSCONFDIR)/bulkhead 2>/dev/null || true

# The man pages, the unit and install, without root (also in make check).
doc-check: all
	@tests/run-sh.sh tests/unit/*_test.sh

.PHONY: install uninstall doc-check

clean:
	rm -rf build

.PHONY: all unit unit-bins e2e-bins asan fuzz fuzz-bins deps run check bench demo clean
