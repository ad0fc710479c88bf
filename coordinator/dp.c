#include "coordinator/dp.h"

#include <math.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/cl_error.h"

/* 128-bit unsigned arithmetic for the exact rationals of the Gaussian's acceptance test. */
__extension__ typedef unsigned __int128 dp_u128;

#define DP_BUF_BYTES 256
#define DP_MAX_ABS_Y ((int64_t)1 << 26) /* |Y| bound in the Gaussian: x = |Y|·sd·t fits 64 bits */

/* Random bytes: the injected rng unbuffered (tests count bytes), or RAND_bytes buffered. */
struct dp_src {
	const struct dp_rng *rng;
	unsigned char buf[DP_BUF_BYTES];
	size_t pos, len;
};

static void dp_src_init(struct dp_src *s, const struct dp_rng *rng)
{
	s->rng = rng;
	s->pos = 0;
	s->len = 0;
}

static void dp_src_wipe(struct dp_src *s)
{
	OPENSSL_cleanse(s->buf, sizeof(s->buf));
	s->pos = 0;
	s->len = 0;
}

static int dp_src_bytes(struct dp_src *s, unsigned char *out, size_t n)
{
	if (s->rng)
		return s->rng->fill(s->rng->ctx, out, n);
	while (n > 0) {
		size_t k;

		if (s->pos == s->len) {
			if (RAND_bytes(s->buf, (int)sizeof(s->buf)) != 1)
				return CL_ECRYPTO;
			s->pos = 0;
			s->len = sizeof(s->buf);
		}
		k = s->len - s->pos;
		if (k > n)
			k = n;
		memcpy(out, s->buf + s->pos, k);
		OPENSSL_cleanse(s->buf + s->pos, k);
		s->pos += k;
		out += k;
		n -= k;
	}
	return CL_OK;
}

/* Uniform integer in [0, m), m >= 1, by masked rejection sampling over whole bytes. */
static int dp_uniform(struct dp_src *s, dp_u128 m, dp_u128 *out)
{
	unsigned char b[16];
	dp_u128 top = m - 1, v = 0;
	unsigned bits = 0, nbytes, i;
	int rc = CL_OK;

	if (m == 0)
		return CL_EINVAL;
	if (m == 1) {
		*out = 0;
		return CL_OK;
	}
	while (top) {
		bits++;
		top >>= 1;
	}
	nbytes = (bits + 7) / 8;
	for (;;) {
		rc = dp_src_bytes(s, b, nbytes);
		if (rc)
			goto out;
		v = 0;
		for (i = 0; i < nbytes; i++)
			v = (v << 8) | b[i];
		if (bits % 8)
			v &= ((dp_u128)1 << bits) - 1;
		if (v < m)
			break;
	}
	*out = v;
out:
	OPENSSL_cleanse(b, sizeof(b));
	v = 0;
	return rc;
}

/* Bernoulli(num/den), 0 <= num <= den, den >= 1. */
static int dp_bernoulli(struct dp_src *s, dp_u128 num, dp_u128 den, int *out)
{
	dp_u128 u = 0;
	int rc;

	rc = dp_uniform(s, den, &u);
	if (rc)
		return rc;
	*out = u < num;
	return CL_OK;
}

/* Bernoulli(exp(−a/b)) for 0 <= a <= b (CKS20 Algorithm 1, γ in [0, 1]). */
static int dp_bern_exp_frac(struct dp_src *s, dp_u128 a, dp_u128 b, int *out)
{
	dp_u128 k = 1, bk;
	int rc, bit = 0;

	for (;;) {
		if (__builtin_mul_overflow(b, k, &bk))
			return CL_EOVERFLOW;
		rc = dp_bernoulli(s, a, bk, &bit);
		if (rc)
			return rc;
		if (!bit)
			break;
		k++;
	}
	*out = (int)(k & 1);
	return CL_OK;
}

/* Bernoulli(exp(−num/den)) for any num >= 0, den >= 1. */
static int dp_bern_exp(struct dp_src *s, dp_u128 num, dp_u128 den, int *out)
{
	dp_u128 whole, i;
	int rc, bit = 0;

	if (den == 0)
		return CL_EINVAL;
	whole = num / den;
	for (i = 0; i < whole; i++) {
		rc = dp_bern_exp_frac(s, 1, 1, &bit);
		if (rc)
			return rc;
		if (!bit) {
			*out = 0;
			return CL_OK;
		}
	}
	rc = dp_bern_exp_frac(s, num % den, den, &bit);
	if (rc)
		return rc;
	*out = bit;
	return CL_OK;
}

int dp_bernoulli_exp(const struct dp_rng *rng, uint64_t num, uint64_t den, int *out)
{
	struct dp_src s;
	int rc, bit = 0;

	if (!out || den == 0 || (rng && !rng->fill))
		return CL_EINVAL;
	dp_src_init(&s, rng);
	rc = dp_bern_exp(&s, num, den, &bit);
	dp_src_wipe(&s);
	if (rc)
		return rc;
	*out = bit;
	return CL_OK;
}

static int dp_param_ok(uint64_t num, uint64_t den)
{
	return num >= 1 && den >= 1 && num <= DP_MAX_PARAM && den <= DP_MAX_PARAM;
}

/* Discrete Laplace with scale t/s (CKS20 Algorithm 2). */
static int dp_laplace_src(struct dp_src *s, uint64_t t, uint64_t sd, int64_t *out)
{
	dp_u128 u = 0;
	uint64_t v, x, y;
	int rc, bit = 0;

	for (;;) {
		rc = dp_uniform(s, t, &u);
		if (rc)
			return rc;
		rc = dp_bern_exp(s, u, t, &bit);
		if (rc)
			return rc;
		if (!bit)
			continue;
		v = 0;
		for (;;) {
			rc = dp_bern_exp_frac(s, 1, 1, &bit);
			if (rc)
				return rc;
			if (!bit)
				break;
			v++;
		}
		if (__builtin_mul_overflow(v, t, &x) || __builtin_add_overflow(x, (uint64_t)u, &x))
			return CL_EOVERFLOW;
		y = x / sd;
		if (y > (uint64_t)INT64_MAX)
			return CL_EOVERFLOW;
		rc = dp_bernoulli(s, 1, 2, &bit);
		if (rc)
			return rc;
		if (bit && y == 0)
			continue;
		*out = bit ? -(int64_t)y : (int64_t)y;
		return CL_OK;
	}
}

int dp_laplace(const struct dp_rng *rng, uint64_t scale_num, uint64_t scale_den, int64_t *out)
{
	struct dp_src s;
	int64_t v = 0;
	int rc;

	if (!out || !dp_param_ok(scale_num, scale_den) || (rng && !rng->fill))
		return CL_EINVAL;
	dp_src_init(&s, rng);
	rc = dp_laplace_src(&s, scale_num, scale_den, &v);
	dp_src_wipe(&s);
	if (rc)
		goto out;
	*out = v;
out:
	v = 0;
	return rc;
}

/* floor(sqrt(num/den)): the largest r with r²·den <= num. */
static uint64_t dp_isqrt_ratio(uint64_t num, uint64_t den)
{
	uint64_t lo = 0, hi = 1;

	while ((dp_u128)hi * hi * den <= num)
		hi <<= 1;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if ((dp_u128)mid * mid * den <= num)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int dp_gaussian(const struct dp_rng *rng, uint64_t sigma2_num, uint64_t sigma2_den, int64_t *out)
{
	struct dp_src s;
	dp_u128 x, num, den;
	uint64_t t;
	int64_t y = 0;
	int rc, bit = 0;

	if (!out || !dp_param_ok(sigma2_num, sigma2_den) || (rng && !rng->fill))
		return CL_EINVAL;
	dp_src_init(&s, rng);
	t = dp_isqrt_ratio(sigma2_num, sigma2_den) + 1;
	/* γ = (|Y| − σ²/t)² / (2σ²) = (|Y|·sd·t − sn)² / (2·sn·sd·t²). */
	den = (dp_u128)2 * sigma2_num * sigma2_den * t * t;
	for (;;) {
		dp_u128 a, b;

		rc = dp_laplace_src(&s, t, 1, &y);
		if (rc)
			goto out;
		if (y > DP_MAX_ABS_Y || y < -DP_MAX_ABS_Y) {
			rc = CL_EOVERFLOW;
			goto out;
		}
		a = (dp_u128)(uint64_t)(y < 0 ? -y : y) * sigma2_den * t;
		b = sigma2_num;
		x = a >= b ? a - b : b - a;
		if (__builtin_mul_overflow(x, x, &num)) {
			rc = CL_EOVERFLOW;
			goto out;
		}
		rc = dp_bern_exp(&s, num, den, &bit);
		if (rc)
			goto out;
		if (bit)
			break;
	}
	*out = y;
out:
	dp_src_wipe(&s);
	y = 0;
	x = 0;
	return rc;
}

static uint64_t dp_gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t r = a % b;

		a = b;
		b = r;
	}
	return a;
}

int dp_laplace_scale(uint64_t eps_num, uint64_t eps_den, uint64_t *scale_num, uint64_t *scale_den)
{
	uint64_t g;

	if (!scale_num || !scale_den || eps_num == 0 || eps_den == 0)
		return CL_EINVAL;
	g = dp_gcd(eps_num, eps_den);
	if (!dp_param_ok(eps_den / g, eps_num / g))
		return CL_EOVERFLOW;
	*scale_num = eps_den / g;
	*scale_den = eps_num / g;
	return CL_OK;
}

int dp_gaussian_sigma2(uint64_t rho_num, uint64_t rho_den, uint64_t *sigma2_num,
		       uint64_t *sigma2_den)
{
	uint64_t g, n, d;

	if (!sigma2_num || !sigma2_den || rho_num == 0 || rho_den == 0)
		return CL_EINVAL;
	if (__builtin_mul_overflow(rho_num, (uint64_t)2, &d))
		return CL_EOVERFLOW;
	n = rho_den;
	g = dp_gcd(n, d);
	if (!dp_param_ok(n / g, d / g))
		return CL_EOVERFLOW;
	*sigma2_num = n / g;
	*sigma2_den = d / g;
	return CL_OK;
}

int dp_epsilon_micro(double eps, int round_up, int64_t *micro)
{
	double v, r;

	if (!micro || !isfinite(eps) || eps <= 0)
		return CL_EINVAL;
	v = eps * DP_EPSILON_MICRO;
	if (v > (double)DP_MAX_EPSILON_MIC)
		return CL_EINVAL;
	r = nearbyint(v);
	if (fabs(v - r) > 1e-6)
		r = round_up ? ceil(v) : floor(v);
	if (r < 1)
		return CL_EINVAL;
	*micro = (int64_t)r;
	return CL_OK;
}
