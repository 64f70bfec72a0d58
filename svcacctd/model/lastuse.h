/* SPDX-License-Identifier: GPL-3.0-or-later */
/* API key last-use times kept in memory between writes (keys.c): one slot
 * per key used since the last write, written by keys_tick at most once a
 * minute.  A member of struct daemon (daemon.h). */
#ifndef SVCACCTD_LASTUSE_H
#define SVCACCTD_LASTUSE_H

#include <stddef.h>
#include <stdint.h>

#include "keyfmt.h"

#define LASTUSE_MAX 4096

struct lastuse {
	char key_id[SVCA_KEYID_LEN + 1];
	uint64_t at;
	uint32_t uid, pid;
	char service[32];
};

struct lastuse_queue {
	struct lastuse pending[LASTUSE_MAX];
	size_t n;
	int64_t last_flush; /* ms, svca_wall_ms */
};

#endif
