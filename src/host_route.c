#include "host_route.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#define MAX_LABELS 3 /* instance, backend, app id */

typedef struct {
    const char *p;
    size_t n;
} label_t;

static int eq_nocase(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && strncasecmp(a, b, an) == 0;
}

/* Splits s into at most MAX_LABELS parts at sep; -1 when there are more,
 * or an empty one. */
static int split(const char *s, size_t n, const char *sep, label_t *out)
{
    size_t sep_len = strlen(sep);
    int count = 0;
    const char *start = s, *end = s + n;
    for (const char *p = s; p <= end;) {
        int at_sep = (size_t)(end - p) >= sep_len && strncasecmp(p, sep, sep_len) == 0;
        if (p == end || at_sep) {
            if (p == start || count == MAX_LABELS)
                return -1;
            out[count++] = (label_t){start, (size_t)(p - start)};
            if (p == end)
                break;
            p += sep_len;
            start = p;
            continue;
        }
        p++;
    }
    return count;
}

/* Whether s holds "-dot-", in any case (host names ignore it). */
static int has_dot_separator(const char *s, size_t n)
{
    for (size_t i = 0; i + 5 <= n; i++)
        if (strncasecmp(s + i, "-dot-", 5) == 0)
            return 1;
    return 0;
}

/* A decimal instance number, or -1. */
static int instance_number(label_t l)
{
    if (l.n == 0 || l.n > 6)
        return -1;
    int v = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (!isdigit((unsigned char)l.p[i]))
            return -1;
        v = v * 10 + (l.p[i] - '0');
    }
    return v;
}

static const backend_t *find_backend(const backends_config_t *backends, label_t l)
{
    for (size_t i = 0; backends && i < backends->n_backends; i++) {
        const char *name = backends->backends[i].name;
        if (eq_nocase(name, strlen(name), l.p, l.n))
            return &backends->backends[i];
    }
    return NULL;
}

/* The length of the Host header's name: without the port (the last ':'
 * outside an IPv6 literal's brackets) and a fully qualified name's final
 * dot. */
static size_t host_name_len(const char *host, size_t host_len)
{
    size_t n = host_len;
    for (size_t i = host_len; i > 0; i--) {
        if (host[i - 1] == ']')
            break;
        if (host[i - 1] == ':') {
            n = i - 1;
            break;
        }
    }
    if (n > 0 && host[n - 1] == '.')
        n--;
    return n;
}

/* Whether name (n bytes) is domain or one of its subdomains. */
static int in_domain(const char *name, size_t n, const char *domain)
{
    size_t dn = strlen(domain);
    return n >= dn && strncasecmp(name + n - dn, domain, dn) == 0 &&
           (n == dn || name[n - dn - 1] == '.');
}

int host_addresses_server(const char *hostname, const char *listen_host, const char *host,
                          size_t host_len)
{
    if (!host || host_len == 0)
        return 1;
    size_t n = host_name_len(host, host_len);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
        return 1; /* an IPv6 literal */
    char ip[INET_ADDRSTRLEN];
    struct in_addr v4;
    if (n < sizeof ip) {
        memcpy(ip, host, n);
        ip[n] = '\0';
        if (inet_pton(AF_INET, ip, &v4) == 1)
            return 1;
    }
    return in_domain(host, n, "localhost") || in_domain(host, n, hostname) ||
           (listen_host && *listen_host && in_domain(host, n, listen_host));
}

void host_route(const backends_config_t *backends, const char *app_id, const char *hostname,
                const char *host, size_t host_len, host_route_t *out)
{
    out->kind = HOST_DEFAULT;
    out->backend = NULL;
    out->instance = -1;
    if (!host || !backends || backends->n_backends == 0)
        return;
    size_t n = host_name_len(host, host_len);
    size_t hn = strlen(hostname);
    if (n <= hn + 1 || host[n - hn - 1] != '.' || strncasecmp(host + n - hn, hostname, hn) != 0)
        return;
    size_t prefix_len = n - hn - 1;
    label_t labels[MAX_LABELS];
    int count = has_dot_separator(host, prefix_len) ? split(host, prefix_len, "-dot-", labels)
                                                    : split(host, prefix_len, ".", labels);
    if (count <= 0)
        return;
    int first = 0, instance = instance_number(labels[0]);
    if (instance >= 0) {
        first = 1;
        if (count == 1)
            return; /* only a number: not a backend address */
    }
    if (count - first == 2) {
        label_t app = labels[first + 1];
        if (!eq_nocase(app_id, strlen(app_id), app.p, app.n))
            return;
    } else if (count - first != 1) {
        return;
    }
    const backend_t *b = find_backend(backends, labels[first]);
    if (!b)
        return;
    out->backend = b;
    out->instance = instance;
    out->kind = HOST_BACKEND;
}
