/* edge.c - framing checks, per-address connection limits and request
 * deadlines (edge.h). */
#include "http/edge.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/thread.h"

#define BUCKETS 1024 /* of the per-address table */

struct otp_edge_ip {
	struct otp_edge_ip *next;
	unsigned n;
	char addr[OTP_IP_MAX];
};

struct otp_edge {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t sweeper;
	bool stop;
	unsigned conn_limit, per_ip;
	int64_t timeout_ms;
	unsigned total;
	struct otp_edge_conn live; /* list head */
	struct otp_edge_ip *ips[BUCKETS];
};

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % BUCKETS;
}

static void *sweep(void *arg)
{
	struct otp_edge *e = arg;
	pthread_mutex_lock(&e->mu);
	while (!e->stop) {
		struct timespec ts = otp_clock_deadline(CLOCK_REALTIME, 250);
		pthread_cond_timedwait(&e->cv, &e->mu, &ts);
		int64_t now = otp_clock_mono_ms();
		for (struct otp_edge_conn *c = e->live.next; c != &e->live;
		     c = c->next)
			if (c->deadline_ms && now >= c->deadline_ms &&
			    !c->cut) {
				/* libmicrohttpd closes it at its next read;
				 * the descriptor stays its own until it does
				 * (it is on this list until then). */
				shutdown(c->fd, SHUT_RDWR);
				c->cut = true;
			}
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

struct otp_edge *otp_edge_new(unsigned conn_limit, unsigned per_ip,
			      unsigned idle_s, unsigned request_timeout_s)
{
	struct otp_edge *e = calloc(1, sizeof *e);
	if (!e)
		abort();
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	e->conn_limit = conn_limit;
	e->per_ip = per_ip;
	/* A connection may idle (keep-alive) for idle_s, then its request
	 * has request_timeout_s to arrive whole, however slowly. */
	e->timeout_ms = request_timeout_s
			    ? ((int64_t)idle_s + request_timeout_s) * 1000
			    : 0;
	e->live.next = e->live.prev = &e->live;
	if (pthread_create(&e->sweeper, NULL, sweep, e) != 0)
		abort();
	return e;
}

void otp_edge_free(struct otp_edge *e)
{
	if (!e)
		return;
	otp_thread_stop(&e->mu, &e->cv, &e->stop, e->sweeper);
	for (size_t i = 0; i < BUCKETS; i++)
		while (e->ips[i]) {
			struct otp_edge_ip *next = e->ips[i]->next;
			free(e->ips[i]);
			e->ips[i] = next;
		}
	pthread_cond_destroy(&e->cv);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

/* The address's entry, made if missing (under e->mu). */
static struct otp_edge_ip *ip_get(struct otp_edge *e, const char *addr)
{
	struct otp_edge_ip **b = &e->ips[hash(addr)];
	for (struct otp_edge_ip *p = *b; p; p = p->next)
		if (strcmp(p->addr, addr) == 0)
			return p;
	struct otp_edge_ip *p = calloc(1, sizeof *p);
	if (!p)
		abort();
	memcpy(p->addr, addr, strnlen(addr, OTP_IP_MAX - 1));
	p->next = *b;
	*b = p;
	return p;
}

static void ip_put(struct otp_edge *e, struct otp_edge_ip *p)
{
	if (--p->n)
		return;
	struct otp_edge_ip **b = &e->ips[hash(p->addr)];
	while (*b != p)
		b = &(*b)->next;
	*b = p->next;
	free(p);
}

bool otp_edge_admit(struct otp_edge *e, struct otp_edge_conn *ec,
		    struct MHD_Connection *conn, const char *peer, bool exempt)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	ec->fd = ci ? ci->connect_fd : -1;
	pthread_mutex_lock(&e->mu);
	bool ok = e->total < e->conn_limit;
	if (ok && !exempt && e->per_ip) {
		ec->ip = ip_get(e, peer);
		ok = ec->ip->n < e->per_ip;
		ec->ip->n++;
	}
	e->total++;
	ec->deadline_ms =
	    e->timeout_ms ? otp_clock_mono_ms() + e->timeout_ms : 0;
	ec->next = e->live.next;
	ec->prev = &e->live;
	e->live.next->prev = ec;
	e->live.next = ec;
	if (!ok && ec->fd >= 0) {
		shutdown(ec->fd, SHUT_RDWR);
		ec->cut = true;
	}
	pthread_mutex_unlock(&e->mu);
	return ok;
}

void otp_edge_leave(struct otp_edge *e, struct otp_edge_conn *ec)
{
	pthread_mutex_lock(&e->mu);
	ec->prev->next = ec->next;
	ec->next->prev = ec->prev;
	ec->next = ec->prev = ec;
	e->total--;
	if (ec->ip)
		ip_put(e, ec->ip);
	ec->ip = NULL;
	pthread_mutex_unlock(&e->mu);
}

void otp_edge_disarm(struct otp_edge *e, struct otp_edge_conn *ec)
{
	pthread_mutex_lock(&e->mu);
	ec->deadline_ms = 0;
	pthread_mutex_unlock(&e->mu);
}

void otp_edge_arm(struct otp_edge *e, struct otp_edge_conn *ec)
{
	pthread_mutex_lock(&e->mu);
	ec->deadline_ms =
	    e->timeout_ms ? otp_clock_mono_ms() + e->timeout_ms : 0;
	pthread_mutex_unlock(&e->mu);
}

struct framing {
	unsigned cl, te;
	bool te_chunked, bad;
};

static enum MHD_Result look(void *cls, enum MHD_ValueKind kind, const char *key,
			    size_t key_size, const char *value,
			    size_t value_size)
{
	struct framing *f = cls;
	(void)kind;
	if (!key || strlen(key) != key_size ||
	    strcspn(key, " \t") != key_size) {
		f->bad = true;
		return MHD_NO;
	}
	if (value && (strlen(value) != value_size ||
		      strcspn(value, "\r\n") != value_size)) {
		f->bad = true;
		return MHD_NO;
	}
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		f->cl++;
	else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		f->te++;
		f->te_chunked = value && strcasecmp(value, "chunked") == 0;
	}
	return MHD_YES;
}

int otp_edge_check_framing(struct MHD_Connection *conn)
{
	struct framing f = {0};
	MHD_get_connection_values_n(conn, MHD_HEADER_KIND, look, &f);
	if (f.bad || f.cl > 1 || f.te > 1 || (f.te && f.cl) ||
	    (f.te && !f.te_chunked))
		return OTP_EFRAMING;
	return 0;
}
