/*
 * caselink report --html FILE — a self-contained HTML monitoring report for a national
 * coordinator: asks the coordinator for M1–M6 over a period (as `caselink query` does) and
 * writes one HTML file with inline CSS and SVG charts (no script, no fetch), a data table per
 * chart, suppressed cells shown as such, coverage and definitions at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "protocol/client.h"
#include "tools/cli.h"

#define REP_DEADLINE_MS 60000
#define REP_MAX_ROWS	(1u << 18)
#define REP_MAX_CATS	64 /* municipalities, quarters or agency types shown */

/* One row of a measure: key columns (metric last, pointing into the answer) and its value. */
struct rep_row {
	const char *keys[CLIENT_MAX_COLS];
	size_t nkeys;
	int suppressed, real_valued;
	char reason[32]; /* why suppressed ("small", "protects another", ...), may be "" */
	long long count;
	double real;
};

struct rep_answer {
	struct client_answer *ans;
	const struct client_coverage *cov;
	struct rep_row *rows;
	size_t nrows;
};

static void rep_answer_free(struct rep_answer *a)
{
	client_answer_free(a->ans);
	free(a->rows);
}

/* Asks the coordinator for one measure (M1 by quarter); CL_OK with a complete answer. */
static int rep_fetch(struct client_conn *c, const char *measure, const char *from, const char *to,
		     struct rep_answer *a)
{
	Caselink__V1__QueryRequest q = CASELINK__V1__QUERY_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	uint8_t id[PARTY_REQUEST_ID_LEN];
	char prog[64];
	size_t i, k, n;
	int rc;

	snprintf(prog, sizeof(prog), "caselink report: %s", measure);
	rc = client_request_init(c, &q, &h, &who, id, "monitoring", "statistics");
	if (rc != CL_OK)
		return rc;
	q.measure = (char *)measure;
	q.period_from = (char *)from;
	q.period_to = (char *)to;
	q.mode = CASELINK__V1__QUERY_MODE__QUERY_MODE_AGGREGATE;
	rc = client_call(c, &q, REP_DEADLINE_MS, 1, REP_MAX_ROWS, prog, &a->ans);
	if (rc != CL_OK)
		return rc;
	a->cov = client_answer_coverage(a->ans);
	n = client_answer_nrows(a->ans);
	a->rows = calloc(n ? n : 1, sizeof(*a->rows));
	if (!a->rows)
		return CL_ENOMEM;
	for (i = 0; i < n; i++) {
		struct rep_row *w = &a->rows[i];
		const struct client_value *v = client_answer_value(a->ans, i, 0);

		w->nkeys = client_answer_nkeys(a->ans);
		for (k = 0; k < w->nkeys; k++)
			w->keys[k] = client_answer_cell(a->ans, i, k);
		w->suppressed = v->suppressed || !v->present;
		snprintf(w->reason, sizeof(w->reason), "%s", v->suppressed ? v->reason : "");
		w->real_valued = v->real_valued;
		w->count = v->count;
		w->real = v->real;
	}
	a->nrows = n;
	return CL_OK;
}

/* ---- lookups ---- */

/* The row whose keys equal want (NULL entries match anything); NULL when absent. */
static const struct rep_row *rep_find(const struct rep_answer *a, const char *const *want, size_t n)
{
	size_t i, k;

	for (i = 0; i < a->nrows; i++) {
		const struct rep_row *w = &a->rows[i];
		int ok = w->nkeys == n;

		for (k = 0; ok && k < n; k++)
			ok = !want[k] || !strcmp(w->keys[k], want[k]);
		if (ok)
			return w;
	}
	return NULL;
}

/* Distinct values of key column col over rows of metric (last key), "*" excluded, sorted. */
static size_t rep_cats(const struct rep_answer *a, size_t col, const char *metric, const char **out,
		       size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; i < a->nrows; i++) {
		const struct rep_row *w = &a->rows[i];
		const char *v;

		if (col >= w->nkeys || strcmp(w->keys[w->nkeys - 1], metric))
			continue;
		v = w->keys[col];
		if (!strcmp(v, "*"))
			continue;
		for (j = 0; j < n && strcmp(out[j], v); j++)
			;
		if (j == n && n < max)
			out[n++] = v;
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(out[j - 1], out[j]) > 0; j--) {
			const char *t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

/* ---- HTML ---- */

static void rep_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* A value as text: "suppressed", "—" when absent, a count or a number. */
static void rep_value_text(const struct rep_row *w, char *buf, size_t bufsz)
{
	if (!w)
		snprintf(buf, bufsz, "—");
	else if (w->suppressed && w->reason[0])
		snprintf(buf, bufsz, "suppressed (%s)", w->reason);
	else if (w->suppressed)
		snprintf(buf, bufsz, "suppressed");
	else if (w->real_valued)
		snprintf(buf, bufsz, "%.2f", w->real);
	else
		snprintf(buf, bufsz, "%lld", w->count);
}

static int rep_chart_id;

/* One bar of a chart: label, value (or suppressed). */
struct rep_bar {
	const char *label;
	const char *group; /* series (agency type), or NULL */
	const struct rep_row *row;
};

static const char *const rep_colours[] = {"#1b6ca8", "#e07b39", "#3a9d5d",
					  "#8c5fb0", "#c94f6d", "#6b7a8f"};

/*
 * Writes a figure: an SVG bar chart (horizontal when ranking) with role="img", title and
 * description, then the same data as a table. Suppressed bars are drawn as hatched stubs
 * labelled "suppressed".
 */
static void rep_chart(FILE *f, const char *title, const char *desc, const char *value_label,
		      const struct rep_bar *bars, size_t n, int horizontal, int percent)
{
	double max = 0, scale;
	size_t i, id = (size_t)++rep_chart_id;
	int w = 640, bh = 22, h = horizontal ? (int)(n * (size_t)bh) + 40 : 260;
	char t[64];

	for (i = 0; i < n; i++)
		if (bars[i].row && !bars[i].row->suppressed && bars[i].row->real > max)
			max = bars[i].row->real;
	scale = max > 0 ? 1.0 / max : 0;
	fprintf(f,
		"<figure>\n<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
		"width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" aria-labelledby=\"c%zu-t "
		"c%zu-d\">\n<title id=\"c%zu-t\">",
		w, h, w, h, id, id, id);
	rep_esc(f, title);
	fprintf(f, "</title>\n<desc id=\"c%zu-d\">", id);
	rep_esc(f, desc);
	fprintf(f, " Suppressed values are drawn as hatched stubs; the table below lists every "
		   "value.</desc>\n");
	for (i = 0; i < n; i++) {
		const struct rep_row *r = bars[i].row;
		const char *col = rep_colours[i % 6];
		int supp = !r || r->suppressed;
		double v = supp ? 0 : r->real * scale;

		if (bars[i].group) {
			/* One colour per series (agency type), the same in every chart. */
			size_t hsh = 0;
			const char *c;

			for (c = bars[i].group; *c; c++)
				hsh = hsh * 31 + (unsigned char)*c;
			col = rep_colours[hsh % 6];
		}
		rep_value_text(r, t, sizeof(t));
		if (percent && r && !r->suppressed)
			snprintf(t, sizeof(t), "%.1f %%", r->real * 100);
		if (horizontal) {
			int y = 10 + (int)i * bh, len = (int)(v * 380);

			fprintf(f, "<text x=\"150\" y=\"%d\" text-anchor=\"end\" class=\"lbl\">",
				y + 15);
			rep_esc(f, bars[i].label);
			fprintf(f, "</text>\n");
			if (supp)
				fprintf(f,
					"<rect x=\"156\" y=\"%d\" width=\"24\" height=\"16\" "
					"class=\"supp\"/>\n",
					y + 3);
			else
				fprintf(f,
					"<rect x=\"156\" y=\"%d\" width=\"%d\" height=\"16\" "
					"fill=\"%s\"/>\n",
					y + 3, len > 0 ? len : 1, col);
			fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"val\">",
				160 + (supp ? 24 : len), y + 15);
			rep_esc(f, t);
			fprintf(f, "</text>\n");
		} else {
			int bw = n ? (w - 60) / (int)n : 10, x = 40 + (int)i * bw,
			    len = (int)(v * 180);

			if (supp)
				fprintf(f,
					"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"12\" "
					"class=\"supp\"/>\n",
					x + 2, 200 - 12, bw - 4 > 1 ? bw - 4 : 1);
			else
				fprintf(f,
					"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
					"fill=\"%s\"/>\n",
					x + 2, 200 - len, bw - 4 > 1 ? bw - 4 : 1,
					len > 0 ? len : 1, col);
			fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"val\" text-anchor=\"middle\">",
				x + bw / 2, 195 - (supp ? 12 : len));
			rep_esc(f, supp ? "s" : t);
			fprintf(f,
				"</text>\n<text x=\"%d\" y=\"%d\" class=\"lbl\" "
				"text-anchor=\"end\" transform=\"rotate(-40 %d %d)\">",
				x + bw / 2, 215, x + bw / 2, 215);
			rep_esc(f, bars[i].label);
			if (bars[i].group) {
				fputs(" ", f);
				rep_esc(f, bars[i].group);
			}
			fprintf(f, "</text>\n");
		}
	}
	fprintf(f, "</svg>\n<figcaption>");
	rep_esc(f, title);
	fprintf(f, "</figcaption>\n</figure>\n<table class=\"data\">\n<caption>Data: ");
	rep_esc(f, title);
	fprintf(f, "</caption>\n<tr><th scope=\"col\">category</th>%s<th scope=\"col\">",
		bars[0].group ? "<th scope=\"col\">series</th>" : "");
	rep_esc(f, value_label);
	fprintf(f, "</th></tr>\n");
	for (i = 0; i < n; i++) {
		rep_value_text(bars[i].row, t, sizeof(t));
		fprintf(f, "<tr><td>");
		rep_esc(f, bars[i].label);
		fprintf(f, "</td>");
		if (bars[i].group) {
			fprintf(f, "<td>");
			rep_esc(f, bars[i].group);
			fprintf(f, "</td>");
		}
		fprintf(f, "<td class=\"%s\">", bars[i].row && bars[i].row->suppressed ? "s" : "n");
		rep_esc(f, t);
		fprintf(f, "</td></tr>\n");
	}
	fprintf(f, "</table>\n");
}

/* Sorts bars by value, largest first; suppressed and absent last (a ranking). */
static void rep_rank(struct rep_bar *b, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++)
		for (j = i; j > 0; j--) {
			const struct rep_row *x = b[j - 1].row, *y = b[j].row;
			double vx = x && !x->suppressed ? x->real : -1,
			       vy = y && !y->suppressed ? y->real : -1;
			struct rep_bar t;

			if (vx >= vy)
				break;
			t = b[j];
			b[j] = b[j - 1];
			b[j - 1] = t;
		}
}

/* A table row "label: value" of one measure cell. */
static void rep_kv(FILE *f, const char *label, const struct rep_row *r, int percent)
{
	char t[64];

	rep_value_text(r, t, sizeof(t));
	if (percent && r && !r->suppressed)
		snprintf(t, sizeof(t), "%.1f %%", r->real * 100);
	fprintf(f, "<tr><th scope=\"row\">");
	rep_esc(f, label);
	fprintf(f, "</th><td class=\"%s\">", r && r->suppressed ? "s" : "n");
	rep_esc(f, t);
	fprintf(f, "</td></tr>\n");
}

static const char rep_css[] =
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:60em}"
    "h1{font-size:1.6em}h2{border-bottom:2px solid #1b6ca8;margin-top:2em}"
    "figure{margin:1em 0;break-inside:avoid}figcaption{font-weight:600}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em;break-inside:avoid}"
    "th,td{border:1px solid #bbb;padding:.2em .6em;text-align:left}"
    "td.n{text-align:right}td.s{font-style:italic;color:#555;background:#f1f1f1}"
    ".lbl{font-size:11px;fill:#222}.val{font-size:11px;fill:#222}"
    ".supp{fill:url(#hatch);stroke:#777}"
    "@media print{body{margin:0;max-width:none}h2{break-before:page}"
    "a{color:#000;text-decoration:none}svg{max-width:100%}}";

/* The fixed SVG pattern suppressed bars use (one hidden SVG, referenced by id). */
static const char rep_defs[] =
    "<svg width=\"0\" height=\"0\" aria-hidden=\"true\" focusable=\"false\" "
    "style=\"position:absolute\"><defs><pattern id=\"hatch\" width=\"6\" height=\"6\" "
    "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" "
    "height=\"6\" fill=\"#eee\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#777\" "
    "stroke-width=\"2\"/></pattern></defs></svg>\n";

static void rep_write(FILE *f, struct rep_answer *a, const char *from, const char *to)
{
	static const char *const mnames[6] = {"M1 incident counts",	"M2 repeat victimisation",
					      "M3 referral timeliness", "M4 service uptake",
					      "M5 programme outcomes",	"M6 children affected"};
	const char *munis[REP_MAX_CATS], *quarters[REP_MAX_CATS], *types[REP_MAX_CATS];
	struct rep_bar *bars = calloc(REP_MAX_CATS * REP_MAX_CATS, sizeof(*bars));
	size_t nm, nq, nt, i, j, k, nb;
	char title[256], desc[512];

	if (!bars)
		return;
	nm = rep_cats(&a[1], 0, "victims", munis, REP_MAX_CATS);
	if (nm == 0)
		nm = rep_cats(&a[0], 0, "incident_events", munis, REP_MAX_CATS);
	nq = rep_cats(&a[0], 2, "incident_events", quarters, REP_MAX_CATS);
	nt = rep_cats(&a[0], 1, "incident_events", types, REP_MAX_CATS);
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		   "<title>caselink monitoring report ");
	rep_esc(f, from);
	fprintf(f, " to ");
	rep_esc(f, to);
	fprintf(f,
		"</title>\n<style>%s</style>\n</head>\n<body>\n%s<header><h1>Domestic violence "
		"monitoring report</h1>\n<p>Period [",
		rep_css, rep_defs);
	rep_esc(f, from);
	fprintf(f, ", ");
	rep_esc(f, to);
	fprintf(f, ") (half-open: the end date is excluded). Measures M1–M6 over the "
		   "federation's linked records. Cells marked <em>suppressed</em> are withheld by "
		   "disclosure control.</p></header>\n<main>\n");

	/* National rankings (a municipal barometer). */
	fprintf(f, "<section><h2 id=\"rankings\">Municipalities compared</h2>\n");
	for (i = 0, nb = 0; i < nm; i++) {
		const char *w[] = {munis[i], "repeat_rate"};

		bars[nb].label = munis[i];
		bars[nb++].row = rep_find(&a[1], w, 2);
	}
	rep_rank(bars, nb);
	if (nb)
		rep_chart(f, "Ranking: share of victims with a repeat episode (M2)",
			  "Municipalities ranked by the share of victims with two or more episodes "
			  "in the period, highest first.",
			  "repeat rate", bars, nb, 1, 1);
	for (i = 0, nb = 0; i < nm; i++) {
		const char *w[] = {munis[i], "any", "share"};

		bars[nb].label = munis[i];
		bars[nb++].row = rep_find(&a[3], w, 3);
	}
	rep_rank(bars, nb);
	if (nb)
		rep_chart(
		    f, "Ranking: share of victims reached by any support within 30 days (M4)",
		    "Municipalities ranked by the share of victims with a support event within "
		    "30 days of their first police call-out or crime report, highest first.",
		    "share", bars, nb, 1, 1);
	for (i = 0, nb = 0; i < nm; i++) {
		const char *w[] = {"*", munis[i], "median_delay_hours"};

		bars[nb].label = munis[i];
		bars[nb++].row = rep_find(&a[2], w, 3);
	}
	if (nb)
		rep_chart(f, "Referral delays: median hours until a referral was received (M3)",
			  "Median delay in hours from a referral being sent to its reception by "
			  "the receiving agency, per municipality, all sending agency types.",
			  "median delay (hours)", bars, nb, 1, 0);
	fprintf(f, "</section>\n");

	/* Per municipality. */
	for (i = 0; i < nm; i++) {
		const char *m = munis[i];
		const char *w1[] = {m, "*", "*", "incident_events"};
		const char *w2[] = {m, NULL};
		const char *w3[] = {"*", m, NULL};
		const char *w4[] = {m, "any", NULL};

		fprintf(f, "<section><h2>");
		rep_esc(f, m);
		fprintf(f, "</h2>\n<table>\n<caption>Key measures of ");
		rep_esc(f, m);
		fprintf(f, "</caption>\n");
		rep_kv(f, "M1 incident events", rep_find(&a[0], w1, 4), 0);
		w2[1] = "victims";
		rep_kv(f, "M2 victims", rep_find(&a[1], w2, 2), 0);
		w2[1] = "repeat_rate";
		rep_kv(f, "M2 repeat rate", rep_find(&a[1], w2, 2), 1);
		w3[2] = "referrals";
		rep_kv(f, "M3 referrals sent", rep_find(&a[2], w3, 3), 0);
		w3[2] = "received_24h";
		rep_kv(f, "M3 received within 24 h", rep_find(&a[2], w3, 3), 0);
		w3[2] = "lost";
		rep_kv(f, "M3 lost (not received in 30 days)", rep_find(&a[2], w3, 3), 0);
		w3[2] = "median_delay_hours";
		rep_kv(f, "M3 median delay (hours)", rep_find(&a[2], w3, 3), 0);
		w4[2] = "victims";
		rep_kv(f, "M4 victims", rep_find(&a[3], w4, 3), 0);
		w4[2] = "share";
		rep_kv(f, "M4 share with any support", rep_find(&a[3], w4, 3), 1);
		fprintf(f, "</table>\n");
		for (j = 0, nb = 0; j < nq; j++)
			for (k = 0; k < nt && nb < REP_MAX_CATS * REP_MAX_CATS; k++) {
				const char *w[] = {m, types[k], quarters[j], "incident_events"};
				const struct rep_row *r = rep_find(&a[0], w, 4);

				if (!r)
					continue; /* no such cell: the agency type had no events */
				bars[nb].label = quarters[j];
				bars[nb].group = types[k];
				bars[nb++].row = r;
			}
		snprintf(title, sizeof(title),
			 "Trend: incident events per quarter and agency type, %s", m);
		snprintf(
		    desc, sizeof(desc),
		    "Bars per calendar quarter and recording agency type of M1 incident events "
		    "in %s.",
		    m);
		if (nb)
			rep_chart(f, title, desc, "incident events", bars, nb, 0, 0);
		for (j = 0; j < nb; j++)
			bars[j].group = NULL;
		fprintf(f, "</section>\n");
	}

	/* National tables: M5 and M6. */
	fprintf(f, "<section><h2>Programme outcomes and children (national)</h2>\n<table>\n"
		   "<caption>M5 programme outcomes</caption>\n");
	for (i = 0; i < a[4].nrows; i++) {
		char lbl[160];

		snprintf(lbl, sizeof(lbl), "%s: %s", a[4].rows[i].keys[0],
			 a[4].rows[i].keys[a[4].rows[i].nkeys - 1]);
		rep_kv(f, lbl, &a[4].rows[i], 0);
	}
	fprintf(f, "</table>\n<table>\n<caption>M6 children affected by threat level (all ages "
		   "and sexes where published)</caption>\n");
	for (i = 0; i < a[5].nrows; i++) {
		const struct rep_row *r = &a[5].rows[i];
		char lbl[160];

		if (r->nkeys < 4)
			continue;
		snprintf(lbl, sizeof(lbl), "age %s, sex %s, threat level %s", r->keys[0],
			 r->keys[1], r->keys[2]);
		rep_kv(f, lbl, r, 0);
	}
	fprintf(f, "</table>\n</section>\n");

	/* Coverage and definitions. */
	fprintf(f, "<section><h2 id=\"coverage\">Coverage and definitions</h2>\n<table>\n"
		   "<caption>Coverage and disclosure control per measure</caption>\n<tr><th "
		   "scope=\"col\">measure</th><th scope=\"col\">nodes answered</th><th "
		   "scope=\"col\">failed</th><th scope=\"col\">disclosure</th></tr>\n");
	for (i = 0; i < 6; i++) {
		const struct client_coverage *c = a[i].cov;
		char cov[64], disc[256], failed[RPC_PEER_ID_MAX + 80];

		snprintf(cov, sizeof(cov), "%u of %u", c->answered, c->asked);
		if (c->have_disclosure)
			snprintf(disc, sizeof(disc),
				 "threshold %lld, rounding %lld, noise %s%s; %u counts and %u "
				 "derived values suppressed",
				 c->threshold, c->rounding, c->mechanism,
				 c->noise_scale > 0 ? " (scale stated per value)" : "",
				 c->suppressed_cells, c->suppressed_derived);
		else
			snprintf(disc, sizeof(disc), "not stated");
		fprintf(f, "<tr><td>");
		rep_esc(f, mnames[i]);
		fprintf(f, "</td><td class=\"n\">");
		rep_esc(f, cov);
		fprintf(f, "</td><td>");
		for (j = 0; j < c->nfailed; j++) {
			snprintf(failed, sizeof(failed), "%.64s (%.64s)", c->failed[j].node,
				 c->failed[j].reason);
			rep_esc(f, failed);
			fputs(j + 1 < c->nfailed ? "; " : "", f);
		}
		if (!c->nfailed)
			fputs("none", f);
		fprintf(f, "</td><td>");
		rep_esc(f, disc);
		fprintf(f, "</td></tr>\n");
	}
	fprintf(f, "</table>\n<p>Definitions: ");
	rep_esc(f, a[0].cov->have_disclosure ? a[0].cov->definitions : "not stated");
	fprintf(f,
		" (the measures of the caselink specification, measures.md, with the "
		"interpretations of docs/ground-truth.md). Periods are half-open [from, to). "
		"M1 counts victims' incident events per municipality, agency type and quarter; "
		"M2 repeat victimisation (two or more episodes, 72-hour episode rule); M3 "
		"referral timeliness (received within 24 hours and 30 days); M4 service uptake "
		"within 30 days; M5 perpetrator programme outcomes (re-offending within a year); "
		"M6 children affected. A count below the threshold is suppressed, and further "
		"cells so that no suppressed cell can be recovered from totals; rates are "
		"suppressed when their denominator is small or suppressed.</p>\n</section>\n"
		"</main>\n</body>\n</html>\n");
	free(bars);
}

static void rep_usage(void)
{
	fprintf(stderr,
		"usage: caselink report --html FILE --from YYYY-MM-DD --to YYYY-MM-DD\n"
		"         --coordinator HOST:PORT (--tls-dir DIR --name ID | --ca FILE --cert "
		"FILE --key FILE | --insecure-demo)\n");
}

int report_main(int argc, char **argv)
{
	static const char *const measures[6] = {"M1", "M2", "M3", "M4", "M5", "M6"};
	const char *html = NULL, *from = NULL, *to = NULL;
	char err[512] = "", tmp[1100];
	struct rep_answer ans[6];
	struct client_args args;
	struct client_config cfg;
	struct client_conn *conn = NULL;
	FILE *f = NULL;
	int i, rc = CL_OK;

	memset(ans, 0, sizeof(ans));
	memset(&args, 0, sizeof(args));
	for (i = 1; i < argc; i++) {
		const char **opt = NULL;

		rc = client_args_take(&args, argc, argv, &i);
		if (rc == 1)
			continue;
		if (!strcmp(argv[i], "--html"))
			opt = &html;
		else if (!strcmp(argv[i], "--from"))
			opt = &from;
		else if (!strcmp(argv[i], "--to"))
			opt = &to;
		if (rc != 0 || !opt || i + 1 >= argc) {
			fprintf(stderr, "caselink report: unknown or incomplete option '%.40s'\n",
				argv[i]);
			rep_usage();
			return 2;
		}
		*opt = argv[++i];
	}
	if (!html || !from || !to || client_args_config(&args, &cfg) != CL_OK) {
		rep_usage();
		return 2;
	}
	rc = client_connect(&cfg, &conn, err, sizeof(err));
	if (rc != CL_OK) {
		fprintf(stderr, "caselink report: %s\n", *err ? err : cl_strerror(rc));
		goto out;
	}
	for (i = 0; rc == CL_OK && i < 6; i++)
		rc = rep_fetch(conn, measures[i], from, to, &ans[i]);
	if (rc != CL_OK)
		goto out;
	/* Written to a temporary name, renamed when complete: no half report. */
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", html) >= (int)sizeof(tmp)) {
		rc = CL_ELIMIT;
		goto out;
	}
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "caselink report: cannot write %s\n", tmp);
		rc = CL_EIO;
		goto out;
	}
	rep_write(f, ans, from, to);
	if (fclose(f) != 0 || rename(tmp, html) != 0) {
		f = NULL;
		remove(tmp);
		fprintf(stderr, "caselink report: cannot write %s\n", html);
		rc = CL_EIO;
		goto out;
	}
	f = NULL;
	printf("caselink report: wrote %s (M1-M6, period [%s, %s))\n", html, from, to);
out:
	for (i = 0; i < 6; i++)
		rep_answer_free(&ans[i]);
	client_close(conn);
	return rc == CL_OK ? 0 : 1;
}
