# svcacct: system service accounts for Linux hosts.
#
#   make            build everything into $(BUILD)/
#   make check      install what is missing, build, run every test (also
#                   under ASan+UBSan); ends with "N passed, N failed"
#   make demo       install what is missing, build, walk through the product
#   make run        svcacctd in the foreground with the private demo config
#   make install    DESTDIR=, PREFIX=/usr/local, LIBDIR=, SYSCONFDIR=/etc

BUILD      ?= build
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
LIBDIR     ?= $(PREFIX)/lib
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

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- dependencies (Debian/Ubuntu) ---------------------------------------
DEB_DEPS := gcc make pkg-config libpam0g-dev libsodium-dev libgdbm-dev \
            libconfig-dev libjansson-dev libmicrohttpd-dev libcmocka-dev \
            pamtester util-linux procps python3 socat openssh-server \
            openssh-client sudo sshpass valgrind python3-jwt \
            python3-cryptography curl jq faketime
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
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/svcacct $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BUILD)/svcacctd $(DESTDIR)$(SBINDIR)/svcacctd
	install -m 0755 $(BUILD)/svcacctctl $(DESTDIR)$(BINDIR)/svcacctctl
	install -m 0644 etc/svcacctd.conf $(DESTDIR)$(SYSCONFDIR)/svcacct/svcacctd.conf
	install -m 0644 man/svcacctctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/svcacctd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/svcacctd.8 $(DESTDIR)$(MANDIR)/man8/

clean:
	rm -rf build build-asan
