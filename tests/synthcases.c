/* synthcases — M7/M8 against a synth federation's expected files (see synthcases.h). */
#include "tests/synthcases.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/csv.h"

size_t synthcases_vs_truth(const struct cases_input *in, const struct synthfed_map *recs,
			   const struct synthfed_agencies *agencies, const char *expdir,
			   const char *asof, size_t *lines)
{
	struct synthfed_rows got, want;
	struct csv_reader *r = NULL;
	struct csv_record x;
	char path[1200];
	int64_t end = synthfed_parse_day(asof) + 86400;
	size_t diff = 0, requests = 0, a, same, oa, ob;
	int cp;

	memset(&got, 0, sizeof got);
	snprintf(path, sizeof path, "%s/m7_requests.csv", expdir);
	assert_int_equal(csv_open(path, &r), 0);
	assert_int_equal(csv_next(r, &x), 1);
	while (csv_next(r, &x) == 1) {
		char key[600];
		uint32_t idx;
		struct cases_summary s;
		const char *status;

		assert_int_equal(x.nfields, 7);
		cp = strcmp(x.fields[1], "child_protection") == 0;
		snprintf(key, sizeof key, "%s,%s", x.fields[2], x.fields[3]);
		assert_true(synthfed_map_get(recs, key, &idx));
		snprintf(got.prefix, sizeof got.prefix, "%s,%s,%s,%s,", asof, x.fields[1],
			 x.fields[2], x.fields[3]);
		assert_int_equal(cases_history(in, idx, end, cp, synthfed_collect, &got, &s), 0);
		status = s.requester_restricted ? "requester_restricted"
			 : s.omitted		? "partial"
						: "complete";
		if (strcmp(status, x.fields[4]) || s.rows != strtoul(x.fields[5], NULL, 10) ||
		    s.omitted != strtoul(x.fields[6], NULL, 10)) {
			if (diff < 5)
				print_message("  m7 request %s: %s %zu %zu, truth %s %s %s\n",
					      x.fields[0], status, s.rows, s.omitted, x.fields[4],
					      x.fields[5], x.fields[6]);
			diff++;
		}
		requests++;
	}
	csv_close(r);
	assert_true(requests > 0);
	snprintf(path, sizeof path, "%s/m7.csv", expdir);
	assert_true(synthfed_read_lines(path, &want));
	synthfed_compare_sets(&got, &want, "m7", 5, &same, &oa, &ob);
	diff += oa + ob;
	*lines += requests + got.n;
	synthfed_rows_free(&got);
	synthfed_rows_free(&want);

	for (cp = 0; cp < 2; cp++)
		for (a = 0; a < agencies->n; a++) {
			snprintf(got.prefix, sizeof got.prefix, "%s,%s,%s,", asof,
				 cp ? "child_protection" : "general", agencies->id[a]);
			assert_int_equal(
			    cases_alerts(in, (uint32_t)a, end, cp, synthfed_collect_m8, &got, NULL),
			    0);
		}
	snprintf(path, sizeof path, "%s/m8.csv", expdir);
	assert_true(synthfed_read_lines(path, &want));
	assert_true(want.n > 0);
	synthfed_compare_sets(&got, &want, "m8", 5, &same, &oa, &ob);
	diff += oa + ob;
	*lines += got.n;
	synthfed_rows_free(&got);
	synthfed_rows_free(&want);
	return diff;
}
