/* Placeholder until the snapshot writer lands. */
#include "nss_snapshot.h"

void nss_snapshot_write(struct daemon *d)
{
	d->nss_dirty = 0;
}
