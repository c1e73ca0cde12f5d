#include "secure_redirect.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cgi_env.h"

/* ---------- trusted proxies ---------- */

static int parse_addr(const char *s, struct in6_addr *out)
{
    struct in_addr v4;
    if (inet_pton(AF_INET, s, &v4) == 1) {
        memset(out, 0, sizeof *out);
        out->s6_addr[10] = out->s6_addr[11] = 0xff;
        memcpy(&out->s6_addr[12], &v4, 4);
        return 0;
    }
    return inet_pton(AF_INET6, s, out) == 1 ? 0 : -1;
}

int trusted_proxies_parse(trusted_proxies_t *tp, const char *list, char *err, size_t errlen)
{
    memset(tp, 0, sizeof *tp);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char one[INET6_ADDRSTRLEN];
        if (len == 0 || len >= sizeof one) {
            snprintf(err, errlen, "invalid address '%.*s'", (int)(len > 64 ? 64 : len), p);
            return -1;
        }
        memcpy(one, p, len);
        one[len] = '\0';
        if (tp->n == TRUSTED_PROXIES_MAX) {
            snprintf(err, errlen, "more than %d addresses", TRUSTED_PROXIES_MAX);
            return -1;
        }
        if (parse_addr(one, &tp->addr[tp->n]) < 0) {
            snprintf(err, errlen, "invalid address '%s' (a numeric IPv4 or IPv6 address)", one);
            return -1;
        }
        tp->n++;
        p = comma ? comma + 1 : p + len;
    }
    return 0;
}

int trusted_proxy_peer(const trusted_proxies_t *tp, const char *peer_ip)
{
    struct in6_addr a;
    if (tp->n == 0 || parse_addr(peer_ip, &a) < 0)
        return 0;
    for (size_t i = 0; i < tp->n; i++)
        if (memcmp(&tp->addr[i], &a, sizeof a) == 0)
            return 1;
    return 0;
}

/* ---------- the request's scheme ---------- */

int secure_request_is_https(const http_request_t *req, const trusted_proxies_t *tp,
                            const char *peer_ip)
{
    if (!trusted_proxy_peer(tp, peer_ip))
        return 0;
    /* The trusted proxy is the nearest hop: what it added comes last. */
    size_t len = 0;
    const char *v = http_request_last_element(req, "x-forwarded-proto", &len);
    return v && len == 5 && strncasecmp(v, "https", 5) == 0;
}

/* ---------- the redirect ---------- */

int secure_host_valid(const char *host, size_t len)
{
    if (!http_host_usable(host, len))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)host[i];
        if (!isalnum(c) && (!c || !strchr("-._:[]", c)))
            return 0;
    }
    return 1;
}

int secure_redirect(buf_t *out, secure_t mode, int code, int is_https, const http_request_t *req,
                    const char *host, size_t host_len, int keep_alive, int http10)
{
    const char *scheme;
    if (mode == SECURE_ALWAYS && !is_https)
        scheme = "https://";
    else if (mode == SECURE_NEVER && is_https)
        scheme = "http://";
    else
        return 0;
    const char *path, *query;
    size_t path_len, query_len;
    cgi_split_target(http_request_url(req), req->url_len, &path, &path_len, &query, &query_len);
    buf_t loc = BUF_INIT;
    int rc = buf_append_str(&loc, scheme);
    rc |= buf_append(&loc, host, host_len);
    rc |= cgi_escape_raw(&loc, path, path_len);
    if (query_len > 0) {
        rc |= buf_append(&loc, "?", 1);
        rc |= cgi_escape_raw(&loc, query, query_len);
    }
    int status = code ? code : req->method == HTTP_GET || req->method == HTTP_HEAD ? 302 : 307;
    char line[48];
    int llen = snprintf(line, sizeof line, "%d %s", status, http_reason(status));
    if (rc == 0) {
        rc |= http_begin_head(out, line, (size_t)llen);
        rc |= http_add_header(out, "Location", 8, buf_ptr(&loc), loc.len);
        rc |= http_end_head(out, 0, keep_alive, http10);
    }
    buf_free(&loc);
    return rc ? -1 : status;
}
