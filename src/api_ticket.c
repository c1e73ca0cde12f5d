#include "api_ticket.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define MIN_BUCKETS 64u

struct api_tickets {
    api_ticket_t **buckets;
    size_t mask; /* buckets - 1, a power of two minus one */
    size_t n;
};

/* Random bytes are read from the kernel a batch at a time: one getrandom(2)
 * per 32 tickets instead of one per request. */
static uint8_t entropy[API_TICKET_BYTES * 32];
static size_t entropy_left;

static int random_key(uint8_t key[API_TICKET_BYTES])
{
    if (entropy_left < API_TICKET_BYTES) {
        size_t got = 0;
        while (got < sizeof entropy) {
            ssize_t n = getrandom(entropy + got, sizeof entropy - got, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return -1;
            got += (size_t)n;
        }
        entropy_left = sizeof entropy;
    }
    entropy_left -= API_TICKET_BYTES;
    memcpy(key, entropy + entropy_left, API_TICKET_BYTES);
    /* Used bytes never stay behind in memory. */
    memset(entropy + entropy_left, 0, API_TICKET_BYTES);
    return 0;
}

/* The key is random already: its first bytes are the hash. */
static size_t bucket_of(const api_tickets_t *t, const uint8_t *key)
{
    uint64_t h;
    memcpy(&h, key, sizeof h);
    return (size_t)h & t->mask;
}

api_tickets_t *api_tickets_new(void)
{
    api_tickets_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->buckets = calloc(MIN_BUCKETS, sizeof *t->buckets);
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    t->mask = MIN_BUCKETS - 1;
    return t;
}

void api_tickets_free(api_tickets_t *t)
{
    if (!t)
        return;
    free(t->buckets);
    free(t);
}

/* Doubles the buckets when the chains get longer than one on average.
 * Failing to grow only makes lookups slower. */
static void maybe_grow(api_tickets_t *t)
{
    size_t nb = t->mask + 1;
    if (t->n < nb)
        return;
    api_ticket_t **grown = calloc(nb * 2, sizeof *grown);
    if (!grown)
        return;
    size_t old_mask = t->mask;
    api_ticket_t **old = t->buckets;
    t->buckets = grown;
    t->mask = nb * 2 - 1;
    for (size_t i = 0; i <= old_mask; i++) {
        for (api_ticket_t *e = old[i], *next; e; e = next) {
            next = e->next;
            size_t b = bucket_of(t, e->key);
            e->next = t->buckets[b];
            t->buckets[b] = e;
        }
    }
    free(old);
}

int api_tickets_issue(api_tickets_t *t, api_ticket_t *ticket, void *target,
                      const api_ticket_ops_t *ops)
{
    static const char digits[] = "0123456789abcdef";
    ticket->hex[0] = '\0';
    if (random_key(ticket->key) < 0)
        return -1;
    for (int i = 0; i < API_TICKET_BYTES; i++) {
        ticket->hex[2 * i] = digits[ticket->key[i] >> 4];
        ticket->hex[2 * i + 1] = digits[ticket->key[i] & 15];
    }
    ticket->hex[API_TICKET_HEX] = '\0';
    ticket->target = target;
    ticket->ops = ops;
    maybe_grow(t);
    size_t b = bucket_of(t, ticket->key);
    ticket->next = t->buckets[b];
    t->buckets[b] = ticket;
    t->n++;
    return 0;
}

void api_tickets_revoke(api_tickets_t *t, api_ticket_t *ticket)
{
    if (!ticket->hex[0])
        return;
    for (api_ticket_t **p = &t->buckets[bucket_of(t, ticket->key)]; *p; p = &(*p)->next) {
        if (*p == ticket) {
            *p = ticket->next;
            t->n--;
            break;
        }
    }
    memset(ticket->key, 0, sizeof ticket->key);
    ticket->hex[0] = '\0';
    ticket->next = NULL;
    ticket->target = NULL;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Compares without stopping at the first difference. */
static int same_key(const uint8_t *a, const uint8_t *b)
{
    uint8_t diff = 0;
    for (int i = 0; i < API_TICKET_BYTES; i++)
        diff |= (uint8_t)(a[i] ^ b[i]);
    return diff == 0;
}

api_ticket_t *api_tickets_find(const api_tickets_t *t, const char *hex, size_t len)
{
    uint8_t key[API_TICKET_BYTES];
    if (!hex || len != API_TICKET_HEX)
        return NULL;
    for (int i = 0; i < API_TICKET_BYTES; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return NULL;
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    for (api_ticket_t *e = t->buckets[bucket_of(t, key)]; e; e = e->next)
        if (same_key(e->key, key))
            return e;
    return NULL;
}

size_t api_tickets_count(const api_tickets_t *t)
{
    return t->n;
}
