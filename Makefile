# SPDX-License-Identifier: GPL-3.0-or-later
# svcacct: system service accounts for Linux hosts.
#
#   make            build everything into $(BUILD)/
#   make check      install what is missing, build, run every test (also
#                   under ASan+UBSan); ends with "N passed, N failed"
#   make demo       install what is missing, build, walk through the product
#   make run        svcacctd in the foreground with the private demo config
#   make install    DESTDIR=, PREFIX=/usr/local, LIBDIR=, SYSCONFDIR=/etc,
#                   MULTIARCH=, PAMDIR= (see the install section)
#   make deb | rpm  binary packages into $(BUILD)/packages/ (make pkg-deps)
#   make package-test  build the .deb, install it in a throwaway root, test

BUILD      ?= build
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/lib/svcacct
LIBDIR     ?= $(PREFIX)/lib$(if $(MULTIARCH),/$(MULTIARCH))
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DESTDIR    ?=

CC      ?= cc
WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wconversion -Werror
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) -fPIC -fstack-protector-strong \
           -D_FORTIFY_SOURCE=2 -Icommon
LDFLAGS ?=
LDFLAGS += -Wl,-z,relro,-z,now

ifeq ($(SAN),1)
CFLAGS  := $(filter-out -D_FORTIFY_SOURCE=2,$(CFLAGS)) -O1 \
           -fsanitize=address,undefined -fno-sanitize-recover=all \
           -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

PG_INCDIR   := $(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
DAEMON_LIBS := -lsodium -lgdbm -lconfig -ljansson -lmicrohttpd -lgnutls -lpq -lcurl -lpthread
CTL_LIBS    := -ljansson -lcurl

# proto_json.c needs jansson: the daemon and svcacctctl link it, the
# modules (MOD_COMMON) never do.
COMMON_SRC := common/proto.c common/sockio.c common/names.c common/keyfmt.c \
              common/nss_format.c common/proto_json.c

# ---- the daemon's layers (svcacctd/LAYERS.md) ------------------------------
# Low to high: common < base < store < model < nss < cmd < net < top
# (svcacctd/main.c, daemon.c).  A layer includes only itself, the layers
# below it and common/: each folder is compiled with only those -I paths,
# so an include in the wrong direction does not compile; lint/layers.sh
# (make lint-layers) checks the headers too.
DAEMON_LAYERS   := base store model nss cmd net
LAYER_INC_base  := -Isvcacctd/base
LAYER_INC_store := $(LAYER_INC_base) -Isvcacctd/store -I$(PG_INCDIR)
LAYER_INC_model := $(LAYER_INC_store) -Isvcacctd/model
LAYER_INC_nss   := $(LAYER_INC_model) -Isvcacctd/nss
LAYER_INC_cmd   := $(LAYER_INC_nss) -Isvcacctd/cmd
LAYER_INC_net   := $(LAYER_INC_cmd) -Isvcacctd/net
LAYER_INC_top   := $(LAYER_INC_net) -Isvcacctd
# The -I paths of a source: its layer's for svcacctd/<layer>/*.c, the
# top's for svcacctd/*.c, none for other folders (common/, tools/, modules).
layer_inc = $(if $(filter svcacctd/%,$(1)),$(or $(LAYER_INC_$(word 2,$(subst /, ,$(1)))),$(LAYER_INC_top)))

DAEMON_SRC := $(wildcard svcacctd/*.c $(DAEMON_LAYERS:%=svcacctd/%/*.c))
CTL_SRC    := $(wildcard tools/svcacctctl/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/obj/%.o)
CTL_OBJ    := $(CTL_SRC:%.c=$(BUILD)/obj/%.o)
# The daemon's objects minus the top floor (main(), daemon.c), so unit
# tests can link them.
DAEMON_TOP_OBJ := $(BUILD)/obj/svcacctd/main.o $(BUILD)/obj/svcacctd/daemon.o
DAEMON_LIB_OBJ := $(filter-out $(DAEMON_TOP_OBJ),$(DAEMON_OBJ))
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# The PAM and NSS modules are loaded into other programs (sshd, sudo,
# getent): libc (and libpam) only, no sanitizer runtime; valgrind checks
# them instead.
# Where libnss_svcacct finds the snapshot, the daemon's nss_dir default
# and pam_svcacct's nss_dir=, all from one setting (common/defaults.h).
NSS_DIR    ?= /var/lib/svcacct/nss
CFLAGS     += -DSVCA_NSS_DIR='"$(NSS_DIR)"'
MOD_CFLAGS := $(filter-out -fsanitize% -fno-sanitize% -fno-omit-frame-pointer,$(CFLAGS))
MOD_COMMON := common/proto.c common/sockio.c common/names.c common/keyfmt.c
PAM_SRC    := $(wildcard pam_svcacct/*.c)
NSS_SRC    := $(wildcard nss_svcacct/*.c)
PAM_OBJ    := $(PAM_SRC:%.c=$(BUILD)/obj-mod/%.o) $(MOD_COMMON:%.c=$(BUILD)/obj-mod/%.o)
NSS_OBJ    := $(NSS_SRC:%.c=$(BUILD)/obj-mod/%.o)
MODULES    := $(if $(PAM_SRC),$(BUILD)/pam_svcacct.so) $(if $(NSS_SRC),$(BUILD)/libnss_svcacct.so.2)

PROGS := $(BUILD)/svcacctd $(BUILD)/svcacctctl $(MODULES)

.PHONY: all check unit-tests demo run install clean deps
all: $(PROGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call layer_inc,$<) -MMD -MP -c -o $@ $<

$(BUILD)/obj-mod/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(MOD_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/pam_svcacct.so: $(PAM_OBJ) pam_svcacct/pam_svcacct.map
	$(CC) $(MOD_CFLAGS) -shared -Wl,-z,relro,-z,now -Wl,--no-undefined \
	    -Wl,--version-script=pam_svcacct/pam_svcacct.map -o $@ $(PAM_OBJ) -lpam

$(BUILD)/libnss_svcacct.so.2: $(NSS_OBJ) nss_svcacct/nss_svcacct.map
	$(CC) $(MOD_CFLAGS) -shared -Wl,-z,relro,-z,now -Wl,--no-undefined \
	    -Wl,-soname,libnss_svcacct.so.2 \
	    -Wl,--version-script=nss_svcacct/nss_svcacct.map -o $@ $(NSS_OBJ)

$(BUILD)/libsvcacct-common.a: $(COMMON_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/libsvcacctd.a: $(DAEMON_LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/svcacctd: $(DAEMON_TOP_OBJ) $(BUILD)/libsvcacctd.a $(BUILD)/libsvcacct-common.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(DAEMON_LIBS)

$(BUILD)/svcacctctl: $(CTL_OBJ) $(BUILD)/libsvcacct-common.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CTL_LIBS)

# sshd's AuthorizedPrincipalsCommand (DESIGN.md section 10): libc and the
# protocol files only; it reads the daemon's config for the socket.
PRINCIPALS_SRC := $(wildcard tools/svcacct-principals/*.c)
PRINCIPALS_OBJ := $(PRINCIPALS_SRC:%.c=$(BUILD)/obj/%.o)
$(PRINCIPALS_OBJ): CFLAGS += -DPRINCIPALS_CONFIG='"$(SYSCONFDIR)/svcacct/svcacctd.conf"'
all: $(BUILD)/svcacct-principals
$(BUILD)/svcacct-principals: $(PRINCIPALS_OBJ) $(BUILD)/libsvcacct-common.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libsvcacctd.a $(BUILD)/libsvcacct-common.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LAYER_INC_top) $(LDFLAGS) -o $@ $^ -lcmocka $(DAEMON_LIBS)

unit-tests: $(UNIT_BIN)

# NSS snapshot generator and lookup benchmark (no daemon needed).
# The snapshot format's writer is common/nss_format.c: no daemon source.
$(BUILD)/nss-gen: bench/nss-gen.c common/nss_format.c
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^
$(BUILD)/nss-bench: bench/nss-bench.c common/nss_format.c
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

# ---- svcacct-bench (bench/svcacct-bench/) ----------------------------------
# Throughput, latency and memory against a private daemon it starts itself.
# Built by `make`; `make bench` runs the full measurement (as root, about
# 2-3 minutes; BENCH_ARGS= adds options); `make check` only runs
# tests/integration/t_bench_smoke.sh (svcacct-bench --smoke).  The NSS
# figures come from nss-bench, run as a subprocess: built alongside.
BENCH_SRC := $(wildcard bench/svcacct-bench/*.c)
BENCH_OBJ := $(BENCH_SRC:%.c=$(BUILD)/obj/%.o)
all: $(BUILD)/svcacct-bench
$(BUILD)/svcacct-bench: $(BENCH_OBJ) $(BUILD)/libsvcacct-common.a | $(BUILD)/nss-bench
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lpam -lcrypt -lsodium -lcurl -ljansson -lpthread -lm
.PHONY: bench
bench:
	@$(MAKE) --no-print-directory all
	$(BUILD)/svcacct-bench $(BENCH_ARGS)

# ---- svcacctd-faults: the daemon with fault injection (tests only) ---------
# The daemon's sources again, with -DSVCA_FAULT_INJECTION, into
# $(BUILD)/obj-faults/: its hook points (svcacctd/base/fault.h) fail on request
# (SVCACCTD_FAULTS, SVCACCTD_FAULTS_FILE).  Only the failure tests use it
# (tests/integration/t_faults.sh); install and the packages ship
# $(BUILD)/svcacctd, in which every hook is the constant 0.
FAULTS_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/obj-faults/%.o)
all: $(BUILD)/svcacctd-faults
$(BUILD)/obj-faults/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call layer_inc,$<) -DSVCA_FAULT_INJECTION -MMD -MP -c -o $@ $<
$(BUILD)/svcacctd-faults: $(FAULTS_OBJ) $(BUILD)/libsvcacct-common.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(DAEMON_LIBS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- dependencies (Debian/Ubuntu) ---------------------------------------
DEB_DEPS := gcc make pkg-config libpam0g-dev libsodium-dev libgdbm-dev \
            libconfig-dev libjansson-dev libmicrohttpd-dev libcmocka-dev \
            libgnutls28-dev libcurl4-gnutls-dev openssl \
            pamtester util-linux procps python3 socat openssh-server \
            openssh-client sudo sshpass valgrind python3-jwt \
            python3-cryptography curl jq faketime strace \
            libpq-dev postgresql gnutls-bin
deps:
	@missing=$$(for p in $(DEB_DEPS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install:" $$missing >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# ---- tests ----------------------------------------------------------------
check: deps
	@$(MAKE) --no-print-directory -j2 all unit-tests
	@$(MAKE) --no-print-directory -j2 BUILD=build-asan SAN=1 all unit-tests
	@tests/run.sh build build-asan

# ---- demo and run -----------------------------------------------------------
demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo.sh $(BUILD)

run: all
	@tools/demo.sh $(BUILD) --run

# ---- install ----------------------------------------------------------------
# MULTIARCH: the Debian multiarch triplet (x86_64-linux-gnu), empty where
# there is none; LIBDIR defaults to $(PREFIX)/lib/$(MULTIARCH).  The NSS
# module goes to LIBDIR, the PAM module to PAMDIR ($(LIBDIR)/security).
# libpam only loads modules by bare name from its own directory: for a
# usable PAM module install with PREFIX=/usr (or set PAMDIR).  Units,
# sysusers.d and tmpfiles.d go under $(PREFIX)/lib; the unit's ExecStart
# names $(SBINDIR)/svcacctd.  The sudoers rule is checked with visudo -cf
# first (when visudo is there) and installed 0440.  The PAM and NSS modules,
# and files still missing from etc/, tools/ or man/, are installed when
# present.
MULTIARCH      ?= $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || $(CC) -print-multiarch 2>/dev/null)
PAMDIR         ?= $(LIBDIR)/security
DATADIR        ?= $(PREFIX)/share
DOCDIR         ?= $(DATADIR)/doc/svcacct
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR    ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR    ?= $(PREFIX)/lib/tmpfiles.d
PAMCONFIGDIR   ?= $(DATADIR)/pam-configs
BASHCOMPDIR    ?= $(DATADIR)/bash-completion/completions
VISUDO         ?= $(firstword $(wildcard /usr/sbin/visudo /usr/bin/visudo /sbin/visudo))

INSTALL_MAN      := $(wildcard man/*.[1-8])
INSTALL_PAMD_EX  := $(wildcard etc/pam.d/*.svcacct-example)
INSTALL_SSH_EX   := $(wildcard etc/ssh/*.svcacct-example)
INSTALL_NSS_TOOL := $(wildcard tools/svcacct-nss-setup)
INSTALL_NSS_EX   := $(wildcard etc/nsswitch.svcacct)

install: $(PROGS) $(BUILD)/svcacct-principals
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/svcacct $(DESTDIR)$(SYSCONFDIR)/sudoers.d \
	    $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	install -m 0755 $(BUILD)/svcacctd $(DESTDIR)$(SBINDIR)/svcacctd
	install -m 0755 $(BUILD)/svcacctctl $(DESTDIR)$(BINDIR)/svcacctctl
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 etc/bash-completion/svcacctctl $(DESTDIR)$(BASHCOMPDIR)/svcacctctl
	install -m 0644 etc/svcacctd.conf $(DESTDIR)$(SYSCONFDIR)/svcacct/svcacctd.conf
	sed 's|/usr/sbin/svcacctd|$(SBINDIR)/svcacctd|g' etc/systemd/svcacctd.service \
	    > $(DESTDIR)$(SYSTEMDUNITDIR)/svcacctd.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/svcacctd.service
	install -m 0644 etc/sysusers.d/svcacct.conf $(DESTDIR)$(SYSUSERSDIR)/svcacct.conf
	install -m 0644 etc/tmpfiles.d/svcacct.conf $(DESTDIR)$(TMPFILESDIR)/svcacct.conf
	$(if $(VISUDO),$(VISUDO) -cf etc/sudoers.d/svcacct)
	install -m 0440 etc/sudoers.d/svcacct $(DESTDIR)$(SYSCONFDIR)/sudoers.d/svcacct
	set -e; for m in $(INSTALL_MAN); do \
	    d=$(DESTDIR)$(MANDIR)/man$${m##*.}; install -d $$d; install -m 0644 $$m $$d/; \
	done
ifneq ($(PAM_SRC),)
	install -d $(DESTDIR)$(PAMDIR)
	install -m 0644 $(BUILD)/pam_svcacct.so $(DESTDIR)$(PAMDIR)/pam_svcacct.so
endif
ifneq ($(wildcard etc/pam-configs/svcacct),)
	install -d $(DESTDIR)$(PAMCONFIGDIR)
	install -m 0644 etc/pam-configs/svcacct $(DESTDIR)$(PAMCONFIGDIR)/svcacct
endif
ifneq ($(INSTALL_PAMD_EX),)
	install -d $(DESTDIR)$(DOCDIR)/examples/pam.d
	install -m 0644 $(INSTALL_PAMD_EX) $(DESTDIR)$(DOCDIR)/examples/pam.d/
endif
ifneq ($(INSTALL_SSH_EX),)
	install -d $(DESTDIR)$(DOCDIR)/examples/ssh
	install -m 0644 $(INSTALL_SSH_EX) $(DESTDIR)$(DOCDIR)/examples/ssh/
endif
ifneq ($(NSS_SRC),)
	install -d $(DESTDIR)$(LIBDIR)
	install -m 0644 $(BUILD)/libnss_svcacct.so.2 $(DESTDIR)$(LIBDIR)/libnss_svcacct.so.2
endif
ifneq ($(INSTALL_NSS_TOOL),)
	install -m 0755 tools/svcacct-nss-setup $(DESTDIR)$(SBINDIR)/svcacct-nss-setup
endif
	install -d $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 $(BUILD)/svcacct-principals $(DESTDIR)$(LIBEXECDIR)/svcacct-principals
	sed 's|/usr/lib/svcacct/svcacct-principals|$(LIBEXECDIR)/svcacct-principals|g' \
	    tools/svcacct-ssh-setup >$(DESTDIR)$(SBINDIR)/svcacct-ssh-setup
	chmod 0755 $(DESTDIR)$(SBINDIR)/svcacct-ssh-setup
ifneq ($(INSTALL_NSS_EX),)
	install -d $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 etc/nsswitch.svcacct $(DESTDIR)$(DOCDIR)/examples/nsswitch.svcacct
endif

# ---- packages -----------------------------------------------------------------
# Built from a temporary copy of the working tree (tracked and untracked
# files, minus what .gitignore excludes) so the repository stays clean:
# packaging/debian is copied to ./debian there.  Results in $(PKGOUT)/.
PKG_DEPS := dpkg-dev debhelper fakeroot lintian rpm rpmlint sudo systemd \
            pamtester debootstrap curl
PKGOUT   ?= $(BUILD)/packages

.PHONY: pkg-deps deb rpm package-test
pkg-deps:
	@missing=$$(for p in $(PKG_DEPS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then echo "make pkg-deps: run as root to install:" $$missing >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

deb: deps pkg-deps
	@packaging/build-deb.sh $(PKGOUT)

rpm: deps pkg-deps
	@packaging/build-rpm.sh $(PKGOUT)

package-test: deps pkg-deps
	@tests/package/test_deb.sh $(PKGOUT)

clean:
	rm -rf build build-asan

# ---- fuzzing and lint ---------------------------------------------------------
# libFuzzer targets (fuzz/fuzz_*.c, see fuzz/README.md) and static analysis
# (cppcheck, clang-tidy with .clang-tidy).  Everything is built with clang
# into $(FUZZ_BUILD), apart from the gcc builds above.
#
#   make fuzz          build the targets (clang, libFuzzer, ASan+UBSan) and
#                      fuzz each for FUZZ_SECONDS (60), at nice 10;
#                      FUZZ_TARGETS="jwt config" picks some, make -j2 fuzz runs
#                      two at a time.  New inputs go to
#                      $(FUZZ_BUILD)/corpus/<target>/, crashes to
#                      $(FUZZ_BUILD)/artifacts/<target>/; fuzz/corpus/ is only
#                      read.  Fails when a target finds a crash.
#   make fuzz-replay   build the targets and run every file of
#                      fuzz/corpus/<target>/ and fuzz/crashes/<target>/ once,
#                      without fuzzing (tests/integration/t_fuzz_replay.sh
#                      does the same under make check)
#   make fuzz-seeds    rewrite the seed corpora with fuzz/seedgen.c (run it
#                      after a change of a wire or record format)
#   make lint          lint/layers.sh (the daemon's layer rule), then
#                      cppcheck and clang-tidy over common/ svcacctd/ tools/
#                      bench/ pam_svcacct/ nss_svcacct/ (LINT_JOBS=2 files at a time);
#                      fails on any finding not listed, with its reason, in
#                      lint/cppcheck-suppressions.txt or
#                      lint/clang-tidy-baseline.txt
# make check replays the corpora, so it needs clang and the libFuzzer
# runtime: they are added to the packages `make deps` installs.
DEB_DEPS      += clang libclang-rt-dev llvm
LINT_DEB_DEPS := cppcheck clang-tidy clang-format

FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_NICE    ?= nice -n 10
FUZZ_ALL     := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra \
                -Icommon $(LAYER_INC_top) -Inss_svcacct -Ipam_svcacct -Itools/svcacctctl -Ifuzz
# Everything a target may call: the common library, the daemon without
# main(), the NSS snapshot reader and the PAM module's client helpers.  A
# target links only the archive members it needs.
FUZZ_LIB_SRC := $(COMMON_SRC) $(filter-out svcacctd/main.c svcacctd/daemon.c,$(DAEMON_SRC)) \
                nss_svcacct/snapshot.c pam_svcacct/client.c pam_svcacct/options.c
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_LIBS    := $(DAEMON_LIBS) $(CTL_LIBS) -lpam
FUZZ_BINS    := $(FUZZ_ALL:%=$(FUZZ_BUILD)/fuzz_%)

.PHONY: fuzz fuzz-build fuzz-bins fuzz-replay fuzz-seeds fuzz-deps lint lint-deps \
        lint-layers lint-spdx format format-check lint-cppcheck lint-clang-tidy

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/libfuzzdeps.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_BUILD)/libfuzzdeps.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -MMD -MP -MF $@.d -MT $@ \
	    -o $@ $< $(FUZZ_BUILD)/libfuzzdeps.a $(FUZZ_LIBS)

$(FUZZ_BUILD)/seedgen: fuzz/seedgen.c $(FUZZ_BUILD)/libfuzzdeps.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP -MF $@.d \
	    -MT $@ -o $@ $< $(FUZZ_BUILD)/libfuzzdeps.a $(FUZZ_LIBS)

-include $(wildcard $(FUZZ_BUILD)/*.d $(FUZZ_BUILD)/obj/*/*.d $(FUZZ_BUILD)/obj/*/*/*.d)

fuzz-deps:
	@missing=$$(for p in clang libclang-rt-dev llvm; do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "make fuzz: run as root to install:" $$missing >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

fuzz-build: fuzz-deps
	@$(MAKE) --no-print-directory fuzz-bins

fuzz-bins: $(FUZZ_BINS)

fuzz: fuzz-build
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=fuzz-run-%)

# Extra libFuzzer flags per target.  config: libconfig leaks on most syntax
# errors (fuzz/lsan.supp), and libFuzzer runs a full leak scan after every
# input that leaks, which cuts it from ~9000 to ~170 inputs/s; config.c's own
# leaks are still caught by make fuzz-replay and make check.
FUZZ_FLAGS_config := -detect_leaks=0

# One target: a private corpus seeded from fuzz/corpus/<target>/.
fuzz-run-%: $(FUZZ_BUILD)/fuzz_%
	@mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_BUILD)/artifacts/$*
	@echo "== fuzz_$* for $(FUZZ_SECONDS) s"
	LSAN_OPTIONS=suppressions=fuzz/lsan.supp:print_suppressions=0 \
	$(FUZZ_NICE) $< -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/artifacts/$*/ $(FUZZ_FLAGS_$*) \
	    $(if $(wildcard fuzz/dict/$*.dict),-dict=fuzz/dict/$*.dict) \
	    $(FUZZ_BUILD)/corpus/$* fuzz/corpus/$*

fuzz-replay: fuzz-build
	@fuzz/replay.sh $(FUZZ_BUILD)

fuzz-seeds: fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_BUILD)/seedgen
	ASAN_OPTIONS=detect_leaks=0 $(FUZZ_BUILD)/seedgen fuzz/corpus

# ---- lint ----
LINT_SRC   := $(wildcard common/*.c $(DAEMON_SRC) tools/svcacctctl/*.c tools/svcacct-principals/*.c bench/*.c \
                        bench/svcacct-bench/*.c pam_svcacct/*.c nss_svcacct/*.c)
CPPCHECK   ?= cppcheck
CLANG_TIDY ?= clang-tidy
CLANG_FORMAT ?= clang-format
LINT_JOBS  ?= 2

lint-deps:
	@missing=$$(for p in $(LINT_DEB_DEPS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "make lint: run as root to install:" $$missing >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: lint-deps
	@$(MAKE) --no-print-directory -k lint-layers lint-spdx format-check lint-cppcheck lint-clang-tidy

# Every source file names its licence (LICENSE says which part has which);
# lint/spdx.sh --add writes the line into new files.
lint-spdx:
	@lint/spdx.sh

# The C style is .clang-format: `make format` applies it, `make
# format-check` (part of lint) fails on any difference.
FORMAT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
format:
	@$(CLANG_FORMAT) -i $(FORMAT_SRC)
format-check:
	@$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRC) && echo "format: every C file follows .clang-format"

# The daemon's layer rule (svcacctd/LAYERS.md): no upward include, no cycle
# between folders, no daemon source compiled by tools/ or the modules.
lint-layers:
	@lint/layers.sh

# The reason for each suppression is in lint/cppcheck-suppressions.txt; the
# jansson iteration macros are described to cppcheck in lint/jansson.cfg.
lint-cppcheck:
	$(CPPCHECK) --quiet --enable=warning,portability,performance --error-exitcode=1 \
	    --inline-suppr --suppressions-list=lint/cppcheck-suppressions.txt --std=c11 \
	    --platform=unix64 --library=posix --library=lint/jansson.cfg \
	    -D_GNU_SOURCE -D__linux__ -D__x86_64__ \
	    -Icommon $(LAYER_INC_top) -Inss_svcacct -Ipam_svcacct -Itools/svcacctctl $(LINT_SRC)

# Checks and the reason for each exclusion: .clang-tidy; known findings:
# lint/clang-tidy-baseline.txt.
lint-clang-tidy:
	@CLANG_TIDY=$(CLANG_TIDY) LINT_JOBS=$(LINT_JOBS) lint/clang-tidy.sh $(LINT_SRC)
