# wpool — the one entry point.
#   make            build everything into build/
#   make test       install deps (scripts/deps.sh), build, run the test suite
#   make check      the test suite built and run under ASan+UBSan (build/san/)
#   make baseline   install deps, build, run bench/baseline on defaults
#   make profile    where a pipe request's cost goes (scripts/profile.sh)
#   make fuzz       libFuzzer targets (clang); FUZZ_SECONDS=N runs each N s
#   make install    PREFIX=/usr/local DESTDIR=...: libwpool (.a, .so), wpool.h,
#                   wpool.pc, the wpool command, the workers, the Python SDK
#   make uninstall  the same PREFIX and DESTDIR: removes what install put there
#   make clean
#
# Layout of build/: gen/ (protoc-c output, never committed), obj/, the
# programs (wpool, wpool-worker, wpool-compare, ...), tests/.

BUILD    ?= build
# Quiet build lines ("CC file"); make V=1 shows the full commands.
V ?= 0

say = $(if $(filter 1,$(V)),,@printf '  %-6s %s\n' $(1) $(2);)
CC       ?= cc
PYTHON   ?= /usr/bin/python3
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
OPT      ?= -O2
SANFLAGS ?=
PKGS     := libuv libprotobuf-c grpc jansson


# pkg-config's answers (each variable below is `pkg-config ARGS`), cached in
# $(BUILD)/config.mk: asking at every invocation cost ~1.4 s here (gRPC's
# .pc files), which every `make -q` of the bench/ wrappers would pay. The
# cache is remade when missing or when this Makefile changes (after an
# upgrade of the -dev packages: make clean). While a package is missing it
# is not written and pkg-config is asked each time, as before (make test
# installs the packages first; its own make run then writes it).
PC_VARS := PKG_CFLAGS PKG_LIBS TEST_LIBS PROTOBUF_LIBS GRPC_STATIC_LIBS CRYPTO_LIBS JANSSON_LIBS CMARK_LIBS
PC_ARGS_PKG_CFLAGS       := --cflags $(PKGS)
PC_ARGS_PKG_LIBS         := --libs $(PKGS)
PC_ARGS_TEST_LIBS        := --libs cmocka
PC_ARGS_PROTOBUF_LIBS    := --libs libprotobuf-c
PC_ARGS_GRPC_STATIC_LIBS := --static --libs grpc
PC_ARGS_CRYPTO_LIBS      := --libs libcrypto
PC_ARGS_JANSSON_LIBS     := --libs jansson
PC_ARGS_CMARK_LIBS       := --libs libcmark-gfm
CONFIG_MK := $(BUILD)/config.mk
ifeq ($(filter clean deps uninstall,$(MAKECMDGOALS)),)
-include $(CONFIG_MK)
endif
ifndef PC_CACHED
$(foreach v,$(PC_VARS),$(eval $(v) := $(shell pkg-config $(PC_ARGS_$(v)) 2>/dev/null)))
endif
$(CONFIG_MK): Makefile
	@mkdir -p $(dir $@)
	@pkg-config --exists $(PKGS) cmocka libcrypto libcmark-gfm 2>/dev/null || exit 0; \
	{ echo '# pkg-config answers, written by the Makefile: delete to refresh'; \
	  echo 'PC_CACHED := 1'; \
	  $(foreach v,$(PC_VARS),echo "$(v) := $$(pkg-config $(PC_ARGS_$(v)))";) \
	} >$@.$$$$ && mv $@.$$$$ $@

# The bench libraries' headers (bench/lib/, see below).
BENCH_INC := -Ibench/lib/stat -Ibench/lib/results -Ibench/lib/drive
CFLAGS  := -std=c11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Werror \
           -fno-omit-frame-pointer $(SANFLAGS) \
           -Ipool -Iwire $(BENCH_INC) -I$(BUILD)/gen $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(SANFLAGS) $(EXTRA_LDFLAGS)
LDLIBS  := $(PKG_LIBS) -lpthread -lm
# The worker links only what its transports need: every shared library it
# loads is paid at each worker start (libgrpc and its ~60 dependencies cost
# ~8 ms per exec here against ~1 ms for a trivial binary).
WORKER_LDLIBS ?= $(PROTOBUF_LIBS) -lpthread -lm

GEN_C   := $(BUILD)/gen/wpool.pb-c.c
GEN_H   := $(BUILD)/gen/wpool.pb-c.h
GEN_DESC := $(BUILD)/gen/wpool.desc
# The standard gRPC health service (attached workers are checked with it).
HEALTH_GEN_C := $(BUILD)/gen/health.pb-c.c
HEALTH_GEN_H := $(BUILD)/gen/health.pb-c.h

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

# libwpwire: the wire contract both sides link (wire/: framing, encoding
# and decoding of every message, protocol version, gRPC method) plus the
# generated protobuf-c code. libuv-free: the workers link it alone.
WIRE_OBJ    := $(call obj,$(wildcard wire/*.c)) $(BUILD)/obj/gen/wpool.pb-c.o \
               $(BUILD)/obj/gen/health.pb-c.o
LIBWPWIRE   := $(BUILD)/libwpwire.a
# libwpool: the supervisor (pool/); the archive holds libwpwire's objects
# too, so a program links libwpool alone.
POOL_OBJ    := $(call obj,$(wildcard pool/*.c)) $(WIRE_OBJ)
LIBWPOOL    := $(BUILD)/libwpool.a
# The bench libraries (bench/lib/), one archive per concern, so that a
# program links only what it uses:
#   libwpstat    bench/lib/stat     statistics, units, tables, option values (libc, libm)
#   libwpresults bench/lib/results  results files (+ jansson; build facts passed in)
#   libwpdrive   bench/lib/drive    driving a pool: loads, costs, stalls (+ libuv, libwpool)
STAT_OBJ     := $(call obj,$(wildcard bench/lib/stat/*.c))
RESULTS_OBJ  := $(call obj,$(wildcard bench/lib/results/*.c))
DRIVE_OBJ    := $(call obj,$(wildcard bench/lib/drive/*.c))
LIBWPSTAT    := $(BUILD)/libwpstat.a
LIBWPRESULTS := $(BUILD)/libwpresults.a
LIBWPDRIVE   := $(BUILD)/libwpdrive.a
BENCH_LIBS   := $(LIBWPDRIVE) $(LIBWPRESULTS) $(LIBWPSTAT)
RESULTS_LDLIBS := $(JANSSON_LIBS) -lm

# Two worker binaries (measured exec->Hello, p50 of 2x300 runs, this VM):
#   pipe worker, no gRPC linked                      0.87-0.96 ms, RSS 1.3 MB
#   pipe worker with gRPC static in the same binary  1.14-1.36 ms, RSS 3.5 MB
#   gRPC worker, libgrpc dynamic (~60 .so)           7.6-8.8 ms
#   gRPC worker, gRPC static + non-PIE               1.9-2.3 ms
#   wpool-worker --transport grpc (one exec hop)     3.5-4.2 ms
# So wpool-worker stays lean (pipe, plus grpc_exec.c which execs the gRPC
# binary) and wpool-worker-grpc links gRPC statically, non-PIE (PIE cost
# ~0.4 ms of relocations at each start).
# Every C worker is its main plus the SDK (worker/wpw.h) plus one of
# grpc_exec.o (the lean binary) or grpc.o (its "-grpc" twin).
WPW_OBJ     := $(call obj,worker/wpw.c worker/handle.c worker/pipe.c worker/zygote.c)
WORKER_OBJ  := $(call obj,worker/main.c worker/grpc_exec.c) $(WPW_OBJ)
WORKER      := $(BUILD)/wpool-worker
WORKER_GRPC_OBJ := $(call obj,worker/main.c worker/grpc.c) $(WPW_OBJ)
WORKER_GRPC := $(BUILD)/wpool-worker-grpc
WORKER_GRPC_LDFLAGS ?= -no-pie -static-libgcc
WORKER_GRPC_LDLIBS ?= -Wl,-Bstatic $(GRPC_STATIC_LIBS) \
  -lstdc++ -Wl,-Bdynamic $(WORKER_LDLIBS) -ldl

# Example workers: worker/examples/NAME.c -> build/wpool-example-NAME and
# its gRPC twin build/wpool-example-NAME-grpc.
EXAMPLE_NAMES := $(patsubst worker/examples/%.c,%,$(wildcard worker/examples/*.c))
EXAMPLES    := $(addprefix $(BUILD)/wpool-example-,$(EXAMPLE_NAMES))
EXAMPLES    += $(addsuffix -grpc,$(EXAMPLES))
EXAMPLE_LDLIBS = $(CRYPTO_LIBS)

# Every directory bench/src/<prog>/ is one program build/<prog>; cli/ is
# build/wpool. Those that only read results files (READ_PROGS) link no pool,
# no libuv, no gRPC.
PROG_DIRS   := $(notdir $(wildcard bench/src/*))
CLI         := $(BUILD)/wpool
PROGS       := $(addprefix $(BUILD)/,$(PROG_DIRS)) $(CLI)
READ_PROGS  := $(addprefix $(BUILD)/,wpool-ab wpool-compare wpool-report wpool-trend)
POOL_PROGS  := $(filter-out $(READ_PROGS),$(PROGS))

# tests/<group>/test_*.c are cmocka suites (groups as the code: wire, pool,
# transports, workers, bench, tools), built as build/tests/<group>/test_*;
# tests/helpers/*.c are helper programs (build/tests/<name>).
TEST_BINS   := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/*/test_*.c))
HELPER_BINS := $(patsubst tests/helpers/%.c,$(BUILD)/tests/%,$(wildcard tests/helpers/*.c))

ALL_OBJ := $(POOL_OBJ) $(STAT_OBJ) $(RESULTS_OBJ) $(DRIVE_OBJ) $(WORKER_OBJ) $(WORKER_GRPC_OBJ) \
           $(call obj,$(wildcard worker/examples/*.c) $(wildcard cli/*.c)) \
           $(foreach d,$(PROG_DIRS),$(call obj,$(wildcard bench/src/$(d)/*.c)))

.SECONDARY:
.PHONY: all test test-run check deps baseline fuzz clean install uninstall profile
.DEFAULT_GOAL := all

all: $(LIBWPWIRE) $(LIBWPOOL) $(BENCH_LIBS) $(WORKER) $(WORKER_GRPC) $(EXAMPLES) $(PROGS) $(GEN_DESC) $(TEST_BINS) $(HELPER_BINS)

deps:
	@scripts/deps.sh

$(GEN_C) $(GEN_H) &: proto/wpool.proto
	@mkdir -p $(BUILD)/gen
	$(call say,GEN,$@)protoc-c --c_out=$(BUILD)/gen -Iproto proto/wpool.proto

# A descriptor set lets other languages build the message classes at run
# time from the same .proto (worker/python reads it).
$(GEN_DESC): proto/wpool.proto proto/health.proto
	@mkdir -p $(BUILD)/gen
	$(call say,GEN,$@)protoc-c --include_imports --descriptor_set_out=$@ -Iproto proto/wpool.proto proto/health.proto

$(HEALTH_GEN_C) $(HEALTH_GEN_H) &: proto/health.proto
	@mkdir -p $(BUILD)/gen
	$(call say,GEN,$@)protoc-c --c_out=$(BUILD)/gen -Iproto proto/health.proto

$(BUILD)/obj/gen/health.pb-c.o: $(HEALTH_GEN_C)
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/gen/wpool.pb-c.o: $(GEN_C)
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.c $(GEN_H) $(HEALTH_GEN_H)
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBWPOOL): $(POOL_OBJ)
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $^

$(LIBWPWIRE): $(WIRE_OBJ)
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $^

# Every results file records the flags its build used (build.cflags); the
# program hands them to the results library (drive/build.c).
RESULTS_CFLAGS := $(filter-out -I%,$(CFLAGS))
$(BUILD)/obj/bench/lib/drive/build.o: CFLAGS += -DWP_CFLAGS='"$(RESULTS_CFLAGS)"'

$(LIBWPSTAT): $(STAT_OBJ)
$(LIBWPRESULTS): $(RESULTS_OBJ)
$(LIBWPDRIVE): $(DRIVE_OBJ)
$(BENCH_LIBS):
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $^

$(WORKER): $(WORKER_OBJ) $(LIBWPWIRE)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $(WORKER_OBJ) $(LIBWPWIRE) $(WORKER_LDLIBS)

$(WORKER_GRPC): $(WORKER_GRPC_OBJ) $(LIBWPWIRE)
	$(call say,LD,$@)$(CC) $(LDFLAGS) $(WORKER_GRPC_LDFLAGS) -o $@ $(WORKER_GRPC_OBJ) $(LIBWPWIRE) $(WORKER_GRPC_LDLIBS)

$(BUILD)/obj/worker/examples/%.o: CFLAGS += -Iworker

$(BUILD)/wpool-example-%-grpc: $(BUILD)/obj/worker/examples/%.o $(call obj,worker/grpc.c) $(WPW_OBJ) $(LIBWPWIRE)
	$(call say,LD,$@)$(CC) $(LDFLAGS) $(WORKER_GRPC_LDFLAGS) -o $@ $(filter %.o,$^) $(LIBWPWIRE) $(EXAMPLE_LDLIBS) $(WORKER_GRPC_LDLIBS)

$(BUILD)/wpool-example-%: $(BUILD)/obj/worker/examples/%.o $(call obj,worker/grpc_exec.c) $(WPW_OBJ) $(LIBWPWIRE)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBWPWIRE) $(EXAMPLE_LDLIBS) $(WORKER_LDLIBS)

# What each program links: READ_PROGS the results and statistics libraries
# with jansson and libm; the others all three bench libraries and libwpool.
$(READ_PROGS): PROG_LIBS := $(LIBWPRESULTS) $(LIBWPSTAT)
$(READ_PROGS): PROG_LDLIBS := $(RESULTS_LDLIBS)
$(READ_PROGS): $(LIBWPRESULTS) $(LIBWPSTAT)
# bench/report --html renders its report.md with cmark-gfm (GFM tables).
$(BUILD)/wpool-report: PROG_LDLIBS += $(CMARK_LIBS) -lcmark-gfm-extensions
$(POOL_PROGS): PROG_LIBS := $(BENCH_LIBS) $(LIBWPOOL)
$(POOL_PROGS): PROG_LDLIBS := $(LDLIBS)
$(POOL_PROGS): $(BENCH_LIBS) $(LIBWPOOL)

.SECONDEXPANSION:
$(CLI): $(call obj,$(wildcard cli/*.c))
$(filter-out $(CLI),$(PROGS)): $(BUILD)/%: $$(call obj,$$(wildcard bench/src/%/*.c))
$(PROGS):
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(PROG_LIBS) $(PROG_LDLIBS)

# The suites share tests/testutil.h and tests/poolfx.h.
$(BUILD)/obj/tests/%.o: CFLAGS += -Itests

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(BENCH_LIBS) $(LIBWPOOL)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $< $(BENCH_LIBS) $(LIBWPOOL) $(LDLIBS) $(TEST_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/helpers/%.o $(LIBWPWIRE)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $< $(LIBWPWIRE) $(WORKER_LDLIBS)

# A helper on the C worker SDK: the SDK and its pipe transport too.
$(BUILD)/tests/wpw_knobs: $(BUILD)/obj/tests/helpers/wpw_knobs.o $(call obj,worker/grpc_exec.c) $(WPW_OBJ) $(LIBWPWIRE)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBWPWIRE) $(WORKER_LDLIBS)
$(BUILD)/obj/tests/helpers/wpw_knobs.o: CFLAGS += -Iworker

# bench/baseline's floor child stands for "a trivial C program": libc only.
$(BUILD)/tests/floor_child: WORKER_LDLIBS :=
# busy_pool is a supervisor: libwpool and its dependencies.
$(BUILD)/tests/busy_pool: $(BUILD)/obj/tests/helpers/busy_pool.o $(LIBWPOOL)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) -o $@ $< $(LIBWPOOL) $(LDLIBS)

# ---- libwpool installable: version, shared library, install ---------------
# The version's one source is the VERSION file: pool/version.c (wp_version(),
# which `wpool --version` and every results file's build block print) gets
# it as WP_VERSION; the soname is libwpool.so.MAJOR.
VERSION   := $(strip $(file <VERSION))
SO_NAME   := libwpool.so.$(firstword $(subst ., ,$(VERSION)))
SO_REAL   := libwpool.so.$(VERSION)
# What libwpool is made of, the .a and the .so alike. Compiled -fPIC for the
# .so (the static programs and workers link the same objects) and with
# hidden symbols: only what wpool.h marks WP_EXTERN is exported. No
# semantic interposition (and -Bsymbolic-functions for the .so): the
# library's own calls to its wp_ functions (wp_now_ns on every request)
# stay direct, not through the PLT.
LIBWPOOL_OBJ := $(POOL_OBJ)
$(LIBWPOOL_OBJ): CFLAGS += -fPIC -fvisibility=hidden -fno-semantic-interposition
$(BUILD)/obj/pool/version.o: CFLAGS += -DWP_VERSION='"$(VERSION)"'
# A new version rebuilds the library (and so did VERSION's arrival: objects
# of a build/ from before were not -fPIC).
$(LIBWPOOL_OBJ): VERSION

$(BUILD)/$(SO_REAL): $(LIBWPOOL_OBJ)
	$(call say,LD,$@)$(CC) -shared $(LDFLAGS) -Wl,-soname,$(SO_NAME) -Wl,-Bsymbolic-functions -o $@ \
	  $(LIBWPOOL_OBJ) -Wl,--as-needed $(PKG_LIBS) -lpthread -lm
$(BUILD)/$(SO_NAME) $(BUILD)/libwpool.so: $(BUILD)/$(SO_REAL)
	@ln -sf $(SO_REAL) $@
all: $(BUILD)/libwpool.so $(BUILD)/$(SO_NAME)

# make install PREFIX=/usr/local DESTDIR=/tmp/stage: the library (.a, .so),
# wpool.h, wpool.pc, the `wpool` command, both workers, and the Python SDK
# with the descriptor set it reads (its installed path is written into the
# installed module). make uninstall removes the same files.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR    ?= $(PREFIX)/share
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# Debian's /usr/local/lib/python3.X/dist-packages is on sys.path; elsewhere
# set PYTHONDIR or PYTHONPATH. (Recursive: python runs only when installing.)
PYTHONDIR  ?= $(LIBDIR)/python$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')/dist-packages
INSTALL_BINS := $(BUILD)/wpool $(WORKER) $(WORKER_GRPC)

define WPOOL_PC
prefix=$(PREFIX)
libdir=$(LIBDIR)
includedir=$(INCLUDEDIR)

Name: wpool
Description: a supervisor for a pool of external worker processes, on libuv
Version: $(VERSION)
Requires: libuv
Requires.private: libprotobuf-c grpc
Libs: -L$${libdir} -lwpool
Libs.private: -lpthread -lm
Cflags: -I$${includedir}
endef
export WPOOL_PC

install: $(LIBWPOOL) $(BUILD)/$(SO_REAL) $(INSTALL_BINS) $(GEN_DESC)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	  $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(DATADIR)/wpool $(DESTDIR)$(PYTHONDIR)
	install -m 755 $(INSTALL_BINS) $(DESTDIR)$(BINDIR)/
	install -m 644 $(LIBWPOOL) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/$(SO_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SO_REAL) $(DESTDIR)$(LIBDIR)/$(SO_NAME)
	ln -sf $(SO_NAME) $(DESTDIR)$(LIBDIR)/libwpool.so
	install -m 644 pool/wpool.h $(DESTDIR)$(INCLUDEDIR)/
	printf '%s\n' "$$WPOOL_PC" >$(DESTDIR)$(PKGCONFIGDIR)/wpool.pc
	install -m 644 $(GEN_DESC) $(DESTDIR)$(DATADIR)/wpool/
	sed 's|^_INSTALLED_DESC = None$$|_INSTALLED_DESC = "$(DATADIR)/wpool/wpool.desc"|' \
	  worker/python/wpool_worker.py >$(DESTDIR)$(PYTHONDIR)/wpool_worker.py
	install -m 644 worker/python/wpool_zygote.py $(DESTDIR)$(PYTHONDIR)/
	install -m 644 worker/python/wpool_grpc.py $(DESTDIR)$(PYTHONDIR)/
	install -m 644 worker/python/wpool_frames.py $(DESTDIR)$(PYTHONDIR)/

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(INSTALL_BINS))) \
	  $(addprefix $(DESTDIR)$(LIBDIR)/,libwpool.a $(SO_REAL) $(SO_NAME) libwpool.so) \
	  $(DESTDIR)$(INCLUDEDIR)/wpool.h $(DESTDIR)$(PKGCONFIGDIR)/wpool.pc \
	  $(DESTDIR)$(DATADIR)/wpool/wpool.desc $(DESTDIR)$(PYTHONDIR)/wpool_worker.py \
	  $(DESTDIR)$(PYTHONDIR)/wpool_zygote.py $(DESTDIR)$(PYTHONDIR)/wpool_grpc.py \
	  $(DESTDIR)$(PYTHONDIR)/wpool_frames.py
	-rmdir $(DESTDIR)$(DATADIR)/wpool 2>/dev/null

# The README's test command: on a fresh Debian 12 machine this is all it takes.
test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@scripts/run-tests.sh $(BUILD)

check: deps
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=build/san OPT=-O1 \
	  SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  WPOOL_SANITIZED=1 scripts/run-tests.sh build/san

baseline: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	bench/baseline

# Where a pipe request's cost goes (issue 19): callgrind instructions per
# request by function, supervisor and workers, at n=2 c=1 and n=8 c=100
# pinned, then syscalls/switches/CPU per request and the ratio to the bare
# C pool (scripts/profile.sh --help; PROFILE_ARGS to change points).
profile: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	scripts/profile.sh $(BUILD) $(PROFILE_ARGS)

# Fuzzing (not part of make test): one libFuzzer binary per
# tests/fuzz/fuzz_<name>.c, built with clang over the decoding code alone
# (wire/*.c, the generated protobuf-c code). Each runs
# FUZZ_SECONDS from its committed seeds (tests/fuzz/corpus/<name>/); new
# inputs go to build/fuzz/corpus-<name>/, crashes to build/fuzz/.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SRC     := $(wildcard wire/*.c) $(GEN_C) $(HEALTH_GEN_C)
FUZZ_FLAGS   := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
                -Iwire -I$(BUILD)/gen $(PKG_CFLAGS)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_SRC) $(wildcard wire/*.h) $(GEN_H) $(HEALTH_GEN_H)
	@mkdir -p $(dir $@)
	$(call say,FUZZ,$@)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_SRC) \
	  $(PROTOBUF_LIBS)

fuzz: $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZ_NAMES))
	@for t in $(FUZZ_NAMES); do \
	  mkdir -p $(BUILD)/fuzz/corpus-$$t; \
	  echo "=== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/fuzz/$$t- $(BUILD)/fuzz/corpus-$$t tests/fuzz/corpus/$$t \
	    || exit 1; \
	done

clean:
	rm -rf build

# Test and helper objects too: a changed header must rebuild the suites.
-include $(ALL_OBJ:.o=.d) $(patsubst %.c,$(BUILD)/obj/%.d,$(wildcard tests/*/test_*.c tests/helpers/*.c))
