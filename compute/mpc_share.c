/*
 * mpc_share — replicated secret sharing over Z_2^64 and bitsliced booleans (mpc_share.h).
 */
#include "compute/mpc_share.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/cl_error.h"

#define KEY_BYTES 16
#define PRG_CHUNK (1u << 16) /* bytes encrypted per EVP call */

struct mpc_party {
	struct mpc_net *net;
	unsigned self, next, prev;
	EVP_CIPHER_CTX *prg[2]; /* [0]: own key (shared with prev), [1]: next's key */
	uint64_t rounds;
};

static unsigned nextp(unsigned i)
{
	return (i + 1) % MPC_PARTIES;
}

static unsigned prevp(unsigned i)
{
	return (i + MPC_PARTIES - 1) % MPC_PARTIES;
}

static int prg_init(EVP_CIPHER_CTX **out, const unsigned char key[KEY_BYTES])
{
	static const unsigned char iv[16];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	if (c == NULL)
		return CL_ENOMEM;
	if (EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv) != 1) {
		EVP_CIPHER_CTX_free(c);
		return CL_ECRYPTO;
	}
	*out = c;
	return 0;
}

/* Overwrites buf with the next len bytes of stream c (AES-CTR over zeros). */
static int prg_fill(EVP_CIPHER_CTX *c, void *buf, size_t len)
{
	unsigned char *p = buf;

	memset(buf, 0, len);
	while (len > 0) {
		int n = (int)(len < PRG_CHUNK ? len : PRG_CHUNK), outl = 0;

		if (EVP_EncryptUpdate(c, p, &outl, p, n) != 1 || outl != n)
			return CL_ECRYPTO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int mpc_party_stream(struct mpc_party *p, int which, void *buf, size_t len)
{
	if (p == NULL || (which != 0 && which != 1) || (buf == NULL && len > 0))
		return CL_EINVAL;
	return prg_fill(p->prg[which], buf, len);
}

int mpc_party_new(struct mpc_party **out, struct mpc_net *net)
{
	unsigned char mine[KEY_BYTES], theirs[KEY_BYTES];
	struct mpc_party *p;
	int rc;

	if (out == NULL || net == NULL || net->self >= MPC_PARTIES)
		return CL_EINVAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return CL_ENOMEM;
	p->net = net;
	p->self = net->self;
	p->next = nextp(p->self);
	p->prev = prevp(p->self);
	rc = RAND_bytes(mine, sizeof(mine)) == 1 ? 0 : CL_ECRYPTO;
	if (rc == 0)
		rc = mpc_net_send(net, p->prev, mine, sizeof(mine));
	if (rc == 0)
		rc = mpc_net_recv(net, p->next, theirs, sizeof(theirs));
	if (rc == 0)
		rc = prg_init(&p->prg[0], mine);
	if (rc == 0)
		rc = prg_init(&p->prg[1], theirs);
	OPENSSL_cleanse(mine, sizeof(mine));
	OPENSSL_cleanse(theirs, sizeof(theirs));
	if (rc != 0) {
		mpc_party_free(p);
		return rc;
	}
	p->rounds = 1;
	*out = p;
	return 0;
}

void mpc_party_free(struct mpc_party *p)
{
	if (p == NULL)
		return;
	EVP_CIPHER_CTX_free(p->prg[0]); /* EVP_CIPHER_CTX_free cleanses the key schedule */
	EVP_CIPHER_CTX_free(p->prg[1]);
	free(p);
}

unsigned mpc_party_self(const struct mpc_party *p)
{
	return p->self;
}

uint64_t mpc_party_rounds(const struct mpc_party *p)
{
	return p->rounds;
}

struct mpc_net *mpc_party_net(struct mpc_party *p)
{
	return p->net;
}

void mpc_party_count_round(struct mpc_party *p)
{
	p->rounds++;
}

static int pair_alloc(uint64_t **s0, uint64_t **s1, size_t n)
{
	if (n > MPC_MAX_ELEMENTS)
		return CL_ELIMIT;
	*s0 = calloc(n ? n : 1, sizeof(uint64_t));
	*s1 = calloc(n ? n : 1, sizeof(uint64_t));
	if (*s0 == NULL || *s1 == NULL) {
		free(*s0);
		free(*s1);
		*s0 = *s1 = NULL;
		return CL_ENOMEM;
	}
	return 0;
}

static void pair_free(uint64_t **s0, uint64_t **s1, size_t n)
{
	if (*s0 != NULL)
		OPENSSL_cleanse(*s0, n * sizeof(uint64_t));
	if (*s1 != NULL)
		OPENSSL_cleanse(*s1, n * sizeof(uint64_t));
	free(*s0);
	free(*s1);
	*s0 = *s1 = NULL;
}

int mpc_a_alloc(struct mpc_a *v, size_t n)
{
	int rc = pair_alloc(&v->s0, &v->s1, n);

	v->n = rc == 0 ? n : 0;
	return rc;
}

int mpc_b_alloc(struct mpc_b *v, size_t w)
{
	int rc = pair_alloc(&v->s0, &v->s1, w);

	v->w = rc == 0 ? w : 0;
	return rc;
}

void mpc_a_free(struct mpc_a *v)
{
	pair_free(&v->s0, &v->s1, v->n);
	v->n = 0;
}

void mpc_b_free(struct mpc_b *v)
{
	pair_free(&v->s0, &v->s1, v->w);
	v->w = 0;
}

/*
 * Shares n words held by owner. The owner's own component comes from its own stream
 * (shared with prev), component owner+1 from the next's stream; component owner-1, the
 * rest, is sent to both others. xor selects boolean instead of arithmetic.
 */
static int input_words(struct mpc_party *p, unsigned owner, const uint64_t *vals, size_t n,
		       uint64_t *s0, uint64_t *s1, int xor)
{
	uint64_t *rest = NULL;
	int rc = 0;

	if (p->self == owner) {
		rc = prg_fill(p->prg[0], s0, n * 8);
		if (rc == 0)
			rc = prg_fill(p->prg[1], s1, n * 8);
		if (rc != 0)
			return rc;
		rest = malloc(n ? n * 8 : 1);
		if (rest == NULL)
			return CL_ENOMEM;
		for (size_t k = 0; k < n; k++)
			rest[k] = xor? vals[k] ^ s0[k] ^ s1[k] : vals[k] - s0[k] - s1[k];
		rc = mpc_net_send(p->net, p->next, rest, n * 8);
		if (rc == 0)
			rc = mpc_net_send(p->net, p->prev, rest, n * 8);
		OPENSSL_cleanse(rest, n * 8);
		free(rest);
	} else if (p->self == prevp(owner)) {
		/* holds (x_{owner-1}, x_owner): x_owner is the owner's stream, our second */
		rc = prg_fill(p->prg[1], s1, n * 8);
		if (rc == 0)
			rc = mpc_net_recv(p->net, owner, s0, n * 8);
	} else {
		/* holds (x_{owner+1}, x_{owner-1}): x_{owner+1} is our own stream */
		rc = prg_fill(p->prg[0], s0, n * 8);
		if (rc == 0)
			rc = mpc_net_recv(p->net, owner, s1, n * 8);
	}
	if (rc == 0)
		p->rounds++;
	return rc;
}

int mpc_a_input(struct mpc_party *p, unsigned owner, const uint64_t *vals, size_t n,
		struct mpc_a *out)
{
	struct mpc_a v = {0};
	int rc;

	if (p == NULL || out == NULL || owner >= MPC_PARTIES || (p->self == owner && vals == NULL))
		return CL_EINVAL;
	rc = mpc_a_alloc(&v, n);
	if (rc == 0)
		rc = input_words(p, owner, vals, n, v.s0, v.s1, 0);
	if (rc != 0) {
		mpc_a_free(&v);
		return rc;
	}
	*out = v;
	return 0;
}

int mpc_b_input(struct mpc_party *p, unsigned owner, const uint64_t *words, size_t w,
		struct mpc_b *out)
{
	struct mpc_b v = {0};
	int rc;

	if (p == NULL || out == NULL || owner >= MPC_PARTIES || (p->self == owner && words == NULL))
		return CL_EINVAL;
	rc = mpc_b_alloc(&v, w);
	if (rc == 0)
		rc = input_words(p, owner, words, w, v.s0, v.s1, 1);
	if (rc != 0) {
		mpc_b_free(&v);
		return rc;
	}
	*out = v;
	return 0;
}

/* Component 0 is held by party 0 (first) and party 2 (second). */
void mpc_a_public(const struct mpc_party *p, struct mpc_a *v, const uint64_t *vals)
{
	memset(v->s0, 0, v->n * 8);
	memset(v->s1, 0, v->n * 8);
	if (p->self == 0)
		memcpy(v->s0, vals, v->n * 8);
	else if (p->self == 2)
		memcpy(v->s1, vals, v->n * 8);
}

void mpc_b_public(const struct mpc_party *p, struct mpc_b *v, const uint64_t *words)
{
	memset(v->s0, 0, v->w * 8);
	memset(v->s1, 0, v->w * 8);
	if (p->self == 0)
		memcpy(v->s0, words, v->w * 8);
	else if (p->self == 2)
		memcpy(v->s1, words, v->w * 8);
}

int mpc_a_add(struct mpc_a *z, const struct mpc_a *x, const struct mpc_a *y)
{
	if (z->n != x->n || x->n != y->n)
		return CL_EINVAL;
	for (size_t k = 0; k < x->n; k++) {
		z->s0[k] = x->s0[k] + y->s0[k];
		z->s1[k] = x->s1[k] + y->s1[k];
	}
	return 0;
}

int mpc_a_sub(struct mpc_a *z, const struct mpc_a *x, const struct mpc_a *y)
{
	if (z->n != x->n || x->n != y->n)
		return CL_EINVAL;
	for (size_t k = 0; k < x->n; k++) {
		z->s0[k] = x->s0[k] - y->s0[k];
		z->s1[k] = x->s1[k] - y->s1[k];
	}
	return 0;
}

void mpc_a_scale(struct mpc_a *x, uint64_t c)
{
	for (size_t k = 0; k < x->n; k++) {
		x->s0[k] *= c;
		x->s1[k] *= c;
	}
}

void mpc_a_add_const(const struct mpc_party *p, struct mpc_a *x, uint64_t c)
{
	uint64_t *s = p->self == 0 ? x->s0 : p->self == 2 ? x->s1 : NULL;

	if (s == NULL)
		return;
	for (size_t k = 0; k < x->n; k++)
		s[k] += c;
}

int mpc_b_xor(struct mpc_b *z, const struct mpc_b *x, const struct mpc_b *y)
{
	if (z->w != x->w || x->w != y->w)
		return CL_EINVAL;
	for (size_t k = 0; k < x->w; k++) {
		z->s0[k] = x->s0[k] ^ y->s0[k];
		z->s1[k] = x->s1[k] ^ y->s1[k];
	}
	return 0;
}

void mpc_b_not(const struct mpc_party *p, struct mpc_b *x)
{
	uint64_t *s = p->self == 0 ? x->s0 : p->self == 2 ? x->s1 : NULL;

	if (s == NULL)
		return;
	for (size_t k = 0; k < x->w; k++)
		s[k] = ~s[k];
}

/*
 * The resharing step of a multiplication: z_self = t + alpha_self, sent to prev; the
 * received z_next becomes the second component. t holds the local products on entry.
 */
static int reshare(struct mpc_party *p, uint64_t *t, uint64_t *z0, uint64_t *z1, size_t n, int xor)
{
	uint64_t *r = z1; /* z1 is scratch until the receive fills it */
	int rc = prg_fill(p->prg[0], z0, n * 8);

	if (rc == 0)
		rc = prg_fill(p->prg[1], r, n * 8);
	if (rc != 0)
		return rc;
	for (size_t k = 0; k < n; k++)
		z0[k] = xor? t[k] ^ z0[k] ^ r[k] : t[k] + z0[k] - r[k];
	rc = mpc_net_send(p->net, p->prev, z0, n * 8);
	if (rc == 0)
		rc = mpc_net_recv(p->net, p->next, z1, n * 8);
	if (rc == 0)
		p->rounds++;
	return rc;
}

int mpc_a_mul(struct mpc_party *p, struct mpc_a *z, const struct mpc_a *x, const struct mpc_a *y)
{
	uint64_t *t;
	int rc;

	if (p == NULL || z->n != x->n || x->n != y->n)
		return CL_EINVAL;
	t = malloc(x->n ? x->n * 8 : 1);
	if (t == NULL)
		return CL_ENOMEM;
	for (size_t k = 0; k < x->n; k++)
		t[k] = x->s0[k] * y->s0[k] + x->s0[k] * y->s1[k] + x->s1[k] * y->s0[k];
	rc = reshare(p, t, z->s0, z->s1, x->n, 0);
	OPENSSL_cleanse(t, x->n * 8);
	free(t);
	return rc;
}

int mpc_b_and(struct mpc_party *p, struct mpc_b *z, const struct mpc_b *x, const struct mpc_b *y)
{
	uint64_t *t;
	int rc;

	if (p == NULL || z->w != x->w || x->w != y->w)
		return CL_EINVAL;
	t = malloc(x->w ? x->w * 8 : 1);
	if (t == NULL)
		return CL_ENOMEM;
	for (size_t k = 0; k < x->w; k++)
		t[k] = (x->s0[k] & y->s0[k]) ^ (x->s0[k] & y->s1[k]) ^ (x->s1[k] & y->s0[k]);
	rc = reshare(p, t, z->s0, z->s1, x->w, 1);
	OPENSSL_cleanse(t, x->w * 8);
	free(t);
	return rc;
}

/* Party i misses component i+2 = i-1, which party i-1 holds first. */
static int open_words(struct mpc_party *p, int target, const uint64_t *s0, const uint64_t *s1,
		      size_t n, uint64_t *out, int xor)
{
	int rc = 0;
	int receive = target < 0 || (unsigned)target == p->self;

	if (target < 0 || (unsigned)target == p->next)
		rc = mpc_net_send(p->net, p->next, s0, n * 8);
	if (rc == 0 && receive) {
		rc = mpc_net_recv(p->net, p->prev, out, n * 8);
		for (size_t k = 0; rc == 0 && k < n; k++)
			out[k] = xor? out[k] ^ s0[k] ^ s1[k] : out[k] + s0[k] + s1[k];
	}
	if (rc == 0)
		p->rounds++;
	return rc;
}

int mpc_a_open(struct mpc_party *p, const struct mpc_a *x, uint64_t *out)
{
	if (p == NULL || out == NULL)
		return CL_EINVAL;
	return open_words(p, -1, x->s0, x->s1, x->n, out, 0);
}

int mpc_a_open_to(struct mpc_party *p, unsigned target, const struct mpc_a *x, uint64_t *out)
{
	if (p == NULL || target >= MPC_PARTIES || (target == p->self && out == NULL))
		return CL_EINVAL;
	return open_words(p, (int)target, x->s0, x->s1, x->n, out, 0);
}

int mpc_b_open(struct mpc_party *p, const struct mpc_b *x, uint64_t *out)
{
	if (p == NULL || out == NULL)
		return CL_EINVAL;
	return open_words(p, -1, x->s0, x->s1, x->w, out, 1);
}

int mpc_b_open_to(struct mpc_party *p, unsigned target, const struct mpc_b *x, uint64_t *out)
{
	if (p == NULL || target >= MPC_PARTIES || (target == p->self && out == NULL))
		return CL_EINVAL;
	return open_words(p, (int)target, x->s0, x->s1, x->w, out, 1);
}
