/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fault injection, for the failure tests only (tests/integration/t_faults.sh).
 *
 * Only the separate test binary svcacctd-faults is built with
 * -DSVCA_FAULT_INJECTION; in svcacctd itself fault_hit() and fault_fail()
 * are the constant 0, so nothing in the environment can make the
 * production daemon fail on purpose.
 *
 * A hook point is a name at a call that can fail:
 *
 *   journal_write  the journal pwrite in store_flush (half the batch is
 *                  written, then ENOSPC: a torn write)
 *   fsync          the journal fdatasync in store_flush (EIO)
 *   slow_fsync     not a failure: that batch's write waits 2 s first (a
 *                  slow disk), on the writer thread when it writes it
 *   gdbm_store     every GDBM store (raw_put in store.c)
 *   rename         the rename of a database's base copy (copy_file)
 *   checkpoint     not a failure: forces a checkpoint after a flush, so a
 *                  test reaches "rename" without an 8 MiB journal
 *   malloc         the undo record of every put/delete (store.c) and the
 *                  audit record (audit_append)
 *   syslog         the audit syslog sink behaves as if stuck: the sender
 *                  waits out audit_timeout_ms, then drops the lines
 *
 * What fails, in a comma- or space-separated list of point:WHEN, WHEN being
 * N (the Nth hit only) or "every" (each hit); a bare point means point:1:
 *
 *   SVCACCTD_FAULTS="journal_write:3,fsync:5"   read once, at the first hit;
 *                  hits are counted from the start of the process
 *   SVCACCTD_FAULTS_FILE=/path   the same syntax in a file, read again
 *                  whenever it changes (write a new file and rename it into
 *                  place); each read replaces the list and restarts the
 *                  counts, an empty or missing file disarms everything
 *
 * Every injected failure is logged ("fault injection: POINT fails (hit N)"),
 * so a test can tell that the fault really happened.
 */
#ifndef SVCACCTD_FAULT_H
#define SVCACCTD_FAULT_H

#ifdef SVCA_FAULT_INJECTION
/* 1 when the named point should fail now. */
int fault_hit(const char *point);
/* fault_hit() that also sets errno to err when it fires. */
int fault_fail(const char *point, int err);
#else
#define fault_hit(point) 0
#define fault_fail(point, err) 0
#endif

#endif
