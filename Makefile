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

DAEMON_LIBS := -lsodium -lgdbm -lconfig -ljansson -lmicrohttpd
CTL_LIBS    := -ljansson

COMMON_SRC := common/proto.c common/sockio.c common/names.c common/keyfmt.c
DAEMON_SRC := $(wildcard svcacctd/*.c)
CTL_SRC    := $(wildcard tools/svcacctctl*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/obj/%.o)
CTL_OBJ    := $(CTL_SRC:%.c=$(BUILD)/obj/%.o)
# The daemon's objects minus main(), so unit tests can link them.
DAEMON_LIB_OBJ := $(filter-out $(BUILD)/obj/svcacctd/main.o,$(DAEMON_OBJ))
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# The PAM and NSS modules are loaded into other programs (sshd, sudo,
# getent): libc (and libpam) only, no sanitizer runtime; valgrind checks
# them instead.
MOD_CFLAGS := $(filter-out -fsanitize% -fno-sanitize% -fno-omit-frame-pointer,$(CFLAGS))
# Where libnss_svcacct finds the snapshot; the daemon's nss_dir default.
NSS_DIR    ?= /var/lib/svcacct/nss
MOD_CFLAGS += -DSVCA_NSS_DIR='"$(NSS_DIR)"'
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
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

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
	$(AR) rcs $@ $^

$(BUILD)/svcacctd: $(BUILD)/obj/svcacctd/main.o $(BUILD)/libsvcacctd.a $(BUILD)/libsvcacct-common.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(DAEMON_LIBS)

$(BUILD)/svcacctctl: $(CTL_OBJ) $(BUILD)/libsvcacct-common.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CTL_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libsvcacctd.a $(BUILD)/libsvcacct-common.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isvcacctd $(LDFLAGS) -o $@ $^ -lcmocka $(DAEMON_LIBS)

unit-tests: $(UNIT_BIN)

# NSS snapshot generator and lookup benchmark (no daemon needed).
$(BUILD)/nss-gen: tools/nss-gen.c svcacctd/nss_format.c
	$(CC) $(CFLAGS) -Isvcacctd $(LDFLAGS) -o $@ $^
$(BUILD)/nss-bench: tools/nss-bench.c svcacctd/nss_format.c
	$(CC) $(CFLAGS) -Isvcacctd $(LDFLAGS) -o $@ $^

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- dependencies (Debian/Ubuntu) ---------------------------------------
DEB_DEPS := gcc make pkg-config libpam0g-dev libsodium-dev libgdbm-dev \
            libconfig-dev libjansson-dev libmicrohttpd-dev libcmocka-dev \
            pamtester util-linux procps python3 socat openssh-server \
            openssh-client sudo sshpass valgrind python3-jwt \
            python3-cryptography curl jq faketime strace
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
	@$(MAKE) --no-print-directory all unit-tests
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 all unit-tests
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
VISUDO         ?= $(firstword $(wildcard /usr/sbin/visudo /usr/bin/visudo /sbin/visudo))

INSTALL_MAN      := $(wildcard man/*.[1-8])
INSTALL_PAMD_EX  := $(wildcard etc/pam.d/*.svcacct-example)
INSTALL_NSS_TOOL := $(wildcard tools/svcacct-nss-setup)
INSTALL_NSS_EX   := $(wildcard etc/nsswitch.svcacct)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/svcacct $(DESTDIR)$(SYSCONFDIR)/sudoers.d \
	    $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	install -m 0755 $(BUILD)/svcacctd $(DESTDIR)$(SBINDIR)/svcacctd
	install -m 0755 $(BUILD)/svcacctctl $(DESTDIR)$(BINDIR)/svcacctctl
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
ifneq ($(NSS_SRC),)
	install -d $(DESTDIR)$(LIBDIR)
	install -m 0644 $(BUILD)/libnss_svcacct.so.2 $(DESTDIR)$(LIBDIR)/libnss_svcacct.so.2
endif
ifneq ($(INSTALL_NSS_TOOL),)
	install -m 0755 tools/svcacct-nss-setup $(DESTDIR)$(SBINDIR)/svcacct-nss-setup
endif
ifneq ($(INSTALL_NSS_EX),)
	install -d $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 etc/nsswitch.svcacct $(DESTDIR)$(DOCDIR)/examples/nsswitch.svcacct
endif

# ---- packages -----------------------------------------------------------------
# Built from a temporary copy of the working tree (tracked and untracked
# files, minus what .gitignore excludes) so the repository stays clean:
# packaging/debian is copied to ./debian there.  Results in $(PKGOUT)/.
PKG_DEPS := dpkg-dev debhelper fakeroot lintian rpm rpmlint pkgconf sudo \
            systemd pamtester debootstrap
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
