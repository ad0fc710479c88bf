/*
 * dp — exact sampling of differential-privacy noise for counts (privacy.md "Disclosure control").
 *
 * The discrete Laplace (two-sided geometric) and discrete Gaussian distributions are sampled
 * EXACTLY from a cryptographic RNG (OpenSSL RAND_bytes by default), with integer arithmetic
 * only, following Canonne, Kamath & Steinke, "The Discrete Gaussian for Differential Privacy"
 * (NeurIPS 2020), Algorithms 1–3: Bernoulli(exp(−γ)) for rational γ, discrete Laplace with
 * rational scale, discrete Gaussian with rational σ². No floating point is used by a sampler.
 *
 * Parameters are rationals num/den with 1 <= num, den <= DP_MAX_PARAM. A noise value is a
 * secret (it reveals the true count): samplers wipe their random bytes.
 *
 * Probability of an error: a sampler fails with CL_EOVERFLOW only when an intermediate value
 * exceeds its 64-bit bound, which for the allowed parameters has probability below 2^-8000.
 */
#ifndef CASELINK_COORDINATOR_DP_H
#define CASELINK_COORDINATOR_DP_H

#include <stddef.h>
#include <stdint.h>

#define DP_MAX_PARAM	   ((uint64_t)1 << 24) /* numerators and denominators of parameters */
#define DP_EPSILON_MICRO   1000000	       /* ε as a double -> micro-units (1e-6) */
#define DP_MAX_EPSILON_MIC (64LL * DP_EPSILON_MICRO)

/*
 * A source of uniformly random bytes: fill(ctx, buf, len) writes len bytes and returns 0, or a
 * negative CL_E* code. Samplers take a NULL rng to mean OpenSSL's RAND_bytes; tests inject
 * their own bytes.
 */
struct dp_rng {
	int (*fill)(void *ctx, unsigned char *buf, size_t len);
	void *ctx;
};

/*
 * Samples Bernoulli(exp(−num/den)) into *out (0 or 1), num >= 0, den >= 1, both below 2^64
 * (CKS20 Algorithm 1, with the integer part handled as repeated Bernoulli(exp(−1))).
 */
int dp_bernoulli_exp(const struct dp_rng *rng, uint64_t num, uint64_t den, int *out);

/*
 * Samples the discrete Laplace distribution with scale t = scale_num/scale_den:
 * P(x) ∝ exp(−|x|/t) for integer x (CKS20 Algorithm 2), into *out.
 */
int dp_laplace(const struct dp_rng *rng, uint64_t scale_num, uint64_t scale_den, int64_t *out);

/*
 * Samples the discrete Gaussian distribution with variance parameter σ² = sigma2_num/sigma2_den:
 * P(x) ∝ exp(−x²/(2σ²)) for integer x (CKS20 Algorithm 3), into *out.
 */
int dp_gaussian(const struct dp_rng *rng, uint64_t sigma2_num, uint64_t sigma2_den, int64_t *out);

/*
 * The discrete Laplace scale for a count (sensitivity 1) under ε-DP with ε = eps_num/eps_den:
 * t = 1/ε = eps_den/eps_num, reduced, written to *scale_num and *scale_den.
 */
int dp_laplace_scale(uint64_t eps_num, uint64_t eps_den, uint64_t *scale_num, uint64_t *scale_den);

/*
 * The discrete Gaussian σ² for a count (sensitivity 1) under ρ-zCDP with ρ = rho_num/rho_den:
 * σ² = 1/(2ρ) = rho_den/(2·rho_num), reduced, written to *sigma2_num and *sigma2_den.
 */
int dp_gaussian_sigma2(uint64_t rho_num, uint64_t rho_den, uint64_t *sigma2_num,
		       uint64_t *sigma2_den);

/*
 * Converts a policy's ε (a double, policy.h) to micro-units: the nearest integer when eps·10^6 is
 * within 10^-6 of it, else rounded up when round_up is set (a charge) or down (a budget). Refuses
 * non-finite values, values <= 0 and values above DP_MAX_EPSILON_MIC micro-units (CL_EINVAL).
 * The exact rational ε is then micro/DP_EPSILON_MICRO.
 */
int dp_epsilon_micro(double eps, int round_up, int64_t *micro);

#endif
