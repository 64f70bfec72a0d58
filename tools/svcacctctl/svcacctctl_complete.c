/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * svcacctctl --commands: the command table as words for shell completion
 * (etc/bash-completion/svcacctctl reads it at every completion).  Options
 * and arguments come from each command's synopsis in the table, the same
 * text --help prints, so the completion cannot drift from the commands;
 * tests/integration/t_completion.sh checks the synopses against the
 * parser.
 *
 * Lines (fields separated by one space):
 *   global OPTION...
 *   command NOUN VERB WORD...        (VERB "-" for a noun without verbs)
 * An OPTION is "-x" or "--name" (a flag) or "--name=VALUE" (takes a value;
 * VALUE is the synopsis' placeholder: FILE, TEXT, or choices such as
 * member|admin|super-admin).  A WORD is an OPTION or a positional argument
 * in order (NAME, PUBKEY_FILE, TOKEN|-, or a literal word such as create).
 */
#include "svcacctctl.h"

#include <string.h>

/* The longest synopsis word printed; longer ones are cut (none are). */
#define WORD_MAX 96

/* Copies the synopsis word at *p (up to a blank) into w without the
 * brackets around it; *p moves past it.  *closes is 1 when the word ended
 * an optional or grouped part ("]" or ")"), so no value follows it.  0 at
 * the end of the text. */
static int next_word(const char **p, char *w, int *closes)
{
	const char *s = *p;
	while (*s == ' ')
		s++;
	if (*s == '\0')
		return 0;
	const char *e = s;
	while (*e && *e != ' ')
		e++;
	*p = e;
	while (s < e && (*s == '[' || *s == '('))
		s++;
	*closes = 0;
	while (e > s && (e[-1] == ']' || e[-1] == ')')) {
		e--;
		*closes = 1;
	}
	size_t n = (size_t)(e - s) < WORD_MAX ? (size_t)(e - s) : WORD_MAX;
	memcpy(w, s, n);
	w[n] = '\0';
	return 1;
}

static int is_option(const char *w)
{
	return w[0] == '-' && w[1] != '\0' && w[1] != '|';
}

/* A word that separates alternatives or repeats: not printed. */
static int is_filler(const char *w)
{
	return w[0] == '\0' || strcmp(w, "|") == 0 || strcmp(w, "...") == 0;
}

/* Prints the words of a synopsis: options with their values joined by
 * '=', positionals as they are; an option given twice ("--workspace WS
 * [--workspace WS2 ...]") once. */
static void print_synopsis_words(FILE *f, const char *syn)
{
	char w[WORD_MAX + 1], v[WORD_MAX + 1], seen[512] = " ";
	const char *p = syn;
	int closes, vcloses;

	while (next_word(&p, w, &closes)) {
		if (is_filler(w))
			continue;
		if (!is_option(w)) {
			fprintf(f, " %s", w);
			continue;
		}
		/* a value follows unless the option closed its group */
		const char *q = p;
		int has_value = !closes && next_word(&q, v, &vcloses) && !is_filler(v) &&
				!is_option(v) && v[0] != '\0';
		if (has_value) {
			/* the raw next word must not open a group of its own */
			const char *r = p;
			while (*r == ' ')
				r++;
			if (*r == '[' || *r == '(')
				has_value = 0;
		}
		if (has_value)
			p = q;
		char key[WORD_MAX + 3];
		snprintf(key, sizeof(key), " %s ", w);
		if (strstr(seen, key))
			continue;
		if (strlen(seen) + strlen(w) + 2 < sizeof(seen)) {
			strcat(seen, w);
			strcat(seen, " ");
		}
		if (has_value)
			fprintf(f, " %s=%s", w, v);
		else
			fprintf(f, " %s", w);
	}
}

void ctl_complete_print(FILE *f, const char *global_options, const struct ctl_cmd *cmds, size_t n)
{
	fputs("global", f);
	print_synopsis_words(f, global_options);
	fputc('\n', f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "command %s %s", cmds[i].noun, *cmds[i].verb ? cmds[i].verb : "-");
		print_synopsis_words(f, cmds[i].args);
		fputc('\n', f);
	}
}
