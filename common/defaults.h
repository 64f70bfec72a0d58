/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the daemon, svcacctctl and the PAM and NSS modules must agree on:
 * the version, the default paths, and the sizes of the PAM fields the
 * daemon accepts.  One definition each, so the sides cannot drift. */
#ifndef SVCA_DEFAULTS_H
#define SVCA_DEFAULTS_H

/* packaging/build-deb.sh and build-rpm.sh read this line. */
#define SVCA_VERSION "0.1.0"

/* The daemon's native socket (svcacctd.conf "socket"). */
#define SVCA_DEFAULT_SOCKET "/run/svcacct/svcacctd.sock"

/* Where the daemon writes the NSS snapshot and libnss_svcacct reads it
 * (svcacctd.conf "nss_dir"); the Makefile's NSS_DIR sets it at build time
 * for every part at once. */
#ifndef SVCA_NSS_DIR
#define SVCA_NSS_DIR "/var/lib/svcacct/nss"
#endif

/* The daemon's system user (svcacctd.conf "daemon_user", pam_svcacct's
 * daemon_user=, svcacctctl's default trust). */
#define SVCA_DEFAULT_DAEMON_USER "_svcacct"

/* PAM fields the daemon accepts, NUL included: the module truncates or
 * refuses before sending, the daemon refuses anything longer. */
#define SVCA_PAM_SERVICE_MAX 64
#define SVCA_PAM_RHOST_MAX 256
#define SVCA_PAM_TTY_MAX 64

#endif
