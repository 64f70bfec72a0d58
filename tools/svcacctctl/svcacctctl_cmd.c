/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Command bodies shared by several nouns (they parse arguments, so they
 * live apart from the reply and output helpers in svcacctctl_util.c). */
#include "svcacctctl.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int ctl_name_request(struct ctl *c, int argc, char **argv, enum svca_cmd cmd, const char **name,
		     struct ctl_reply *rep)
{
	static const char *const name_pos[] = { "NAME" };
	const char *pos[1];
	struct svca_buf b;
	int rc;

	if ((rc = ctl_parse_args(c, argc, argv, NULL, 0, name_pos, 1, 1, pos)) != 0)
		return rc;
	if ((rc = ctl_check_account_name(c, pos[0])) != 0)
		return rc;

	ctl_request_begin(&b, cmd);
	svca_put_str(&b, F_NAME, pos[0]);
	if ((rc = ctl_request(c, &b, rep)) != 0)
		return rc;
	if (name)
		*name = pos[0];
	return 0;
}

int ctl_scope_delete(struct ctl *c, int argc, char **argv, const char *noun, enum svca_cmd cmd,
		     uint16_t tag, const char *const *pos_names)
{
	struct ctl_opt opts[] = { { "force", 0, NULL } };
	const char *pos[1];
	struct svca_buf b;
	struct ctl_reply rep;
	struct ctl_str s;
	uint64_t removed;
	int rc;

	if ((rc = ctl_parse_args(c, argc, argv, opts, 1, pos_names, 1, 1, pos)) != 0)
		return rc;
	if ((rc = ctl_check_scope_name(c, noun, pos[0])) != 0)
		return rc;

	ctl_request_begin(&b, cmd);
	svca_put_str(&b, tag, pos[0]);
	if (opts[0].value)
		svca_put_u64(&b, F_FORCE, 1);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	int have = ctl_get_u64(&rep.top, F_TOTAL, &removed);
	int have_name = ctl_get_str(&rep.top, tag, &s);
	if (c->json) {
		int oom = 0;
		json_t *o = json_object();
		if (!have_name) {
			s.p = pos[0];
			s.n = strlen(pos[0]);
		}
		ctl_json_set(o, "name", ctl_json_str(s), &oom);
		ctl_json_set(o, "deleted", json_true(), &oom);
		ctl_json_set(o, "grants_removed", ctl_json_u64(&rep.top, F_TOTAL), &oom);
		rc = ctl_json_print_checked(o, oom);
	} else {
		printf("deleted %s ", noun);
		if (have_name)
			ctl_put_safe(stdout, s.p, s.n);
		else
			fputs(pos[0], stdout);
		if (have)
			printf(" (%" PRIu64 " grant%s removed)", removed, removed == 1 ? "" : "s");
		putchar('\n');
	}
	ctl_reply_free(&rep);
	return rc;
}

int ctl_parse_args_no_key(struct ctl *c, int argc, char **argv, struct ctl_opt *opts, size_t nopts,
			  const char *const *names, size_t nnamed, const char **pos, int *on_argv)
{
	size_t maxpos = argc > (int)nnamed ? (size_t)argc : nnamed + 1;
	const char **all = calloc(maxpos, sizeof(*all));
	const char **allnames = calloc(maxpos, sizeof(*allnames));
	*on_argv = 0;
	if (!all || !allnames) {
		free(all);
		free(allnames);
		ctl_err("out of memory");
		return CTL_EXIT_FAILED;
	}
	for (size_t i = 0; i < maxpos; i++)
		allnames[i] = i < nnamed ? names[i] : "KEY";
	int rc = ctl_parse_args(c, argc, argv, opts, nopts, allnames, nnamed, maxpos, all);
	for (size_t i = nnamed; !rc && i < maxpos; i++) {
		if (all[i]) {
			ctl_wipe((char *)(uintptr_t)all[i], strlen(all[i]));
			*on_argv = 1;
		}
	}
	for (size_t i = 0; i < nnamed; i++)
		pos[i] = all[i];
	free(all);
	free(allnames);
	return rc;
}

int ctl_rotate(struct ctl *c, int argc, char **argv, const struct ctl_rotate *r)
{
	struct svca_buf b;
	struct ctl_reply rep;
	struct ctl_str id;
	int rc;

	if ((rc = ctl_parse_args(c, argc, argv, NULL, 0, NULL, 0, 0, NULL)) != 0)
		return rc;
	ctl_request_begin(&b, r->cmd);
	if ((rc = ctl_request(c, &b, &rep)) != 0)
		return rc;
	if (!ctl_get_str(&rep.top, r->tag, &id) || id.n == 0) {
		ctl_err("the daemon's reply holds no %s", r->what);
		ctl_reply_free(&rep);
		return CTL_EXIT_FAILED;
	}
	if (c->json) {
		rc = ctl_json_print_one(r->json_key, ctl_json_str(id));
	} else {
		ctl_put_safe(stdout, id.p, id.n);
		putchar('\n');
		fflush(stdout);
		fputs(r->note, stderr);
	}
	ctl_reply_free(&rep);
	return rc;
}
