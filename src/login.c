#include "login.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cgi_env.h"
#include "log.h"
#include "md5.h"

void login_user_id(const char *email, size_t len, char out[32])
{
    /* dev_appserver's: "1", then the first 20 digits of the lower-cased
     * address's MD5 bytes written as decimal ("%02d" each), so an app sees
     * the ids it saw there (test@example.com's 185804764220139124118). */
    char lower[256];
    size_t n = len < sizeof lower ? len : sizeof lower;
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)tolower((unsigned char)email[i]);
    unsigned char d[16];
    md5(lower, n, d);
    char digits[16 * 3 + 1];
    size_t dl = 0;
    for (int i = 0; i < 16; i++)
        dl += (size_t)snprintf(digits + dl, sizeof digits - dl, "%02u", (unsigned)d[i]);
    snprintf(out, 32, "1%.20s", digits);
}

static int email_char_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != ':' && c != '"' && c != '\\' && c != ';' && c != ',' &&
           c != '<' && c != '>' && c != '&' && c != '\'';
}

/* An address: dev_appserver ignored a cookie whose email has no '@' (its
 * sign-in page set one, but no one was signed in by it), and apps take
 * the domain after it. */
static int email_ok(const char *e, size_t len)
{
    if (len == 0 || len >= 256 || !memchr(e, '@', len))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!email_char_ok((unsigned char)e[i]))
            return 0;
    return 1;
}

static void set_user(login_user_t *u, const char *email, size_t len, int admin)
{
    memcpy(u->email, email, len);
    u->email[len] = '\0';
    u->admin = admin;
    u->signed_in = 1;
    size_t dlen = strlen(LOGIN_AUTH_DOMAIN);
    size_t nlen = len;
    if (len > dlen + 1 && email[len - dlen - 1] == '@' &&
        strncasecmp(email + len - dlen, LOGIN_AUTH_DOMAIN, dlen) == 0)
        nlen = len - dlen - 1;
    memcpy(u->nickname, email, nlen);
    u->nickname[nlen] = '\0';
}

int login_parse_value(const char *v, size_t len, login_user_t *u)
{
    memset(u, 0, sizeof *u);
    while (len > 0 && (*v == ' ' || *v == '\t'))
        v++, len--;
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    if (len >= 2 && v[0] == '"' && v[len - 1] == '"')
        v++, len -= 2;
    const char *c1 = memchr(v, ':', len);
    if (!c1)
        return 0;
    const char *end = v + len;
    const char *c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
    if (!c2)
        return 0;
    size_t elen = (size_t)(c1 - v), alen = (size_t)(c2 - c1 - 1), ilen = (size_t)(end - c2 - 1);
    if (!email_ok(v, elen))
        return 0;
    int admin;
    if (alen == 4 && strncasecmp(c1 + 1, "true", 4) == 0)
        admin = 1;
    else if (alen == 5 && strncasecmp(c1 + 1, "false", 5) == 0)
        admin = 0;
    else
        return 0;
    if (ilen >= 32)
        return 0;
    for (size_t i = 0; i < ilen; i++)
        if (!isdigit((unsigned char)c2[1 + i]))
            return 0;
    set_user(u, v, elen, admin);
    if (ilen == 0) {
        login_user_id(v, elen, u->user_id);
    } else {
        memcpy(u->user_id, c2 + 1, ilen);
        u->user_id[ilen] = '\0';
    }
    return 1;
}

int login_from_request(const http_request_t *req, login_user_t *u)
{
    memset(u, 0, sizeof *u);
    static const char name[] = LOGIN_COOKIE;
    size_t nlen = sizeof name - 1;
    for (size_t i = 0; i < req->n_headers; i++) {
        const http_header_t *h = &req->headers[i];
        if (h->value_off == UINT32_MAX || h->name_len != 6 ||
            strncasecmp(http_header_name(req, h), "cookie", 6) != 0)
            continue;
        const char *p = http_header_value(req, h), *end = p + h->value_len;
        while (p < end) {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *stop = semi ? semi : end;
            while (p < stop && (*p == ' ' || *p == '\t'))
                p++;
            if ((size_t)(stop - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=')
                return login_parse_value(p + nlen + 1, (size_t)(stop - p - nlen - 1), u);
            p = semi ? semi + 1 : end;
        }
    }
    return 0;
}

int login_continue_ok(const char *t, size_t len, const char *host, size_t host_len)
{
    if (len == 0)
        return 0;
    /* Bytes above ASCII are a non-ASCII path's UTF-8, escaped where the
     * target is used (login_serve). */
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] == 0x7f || t[i] == '\\')
            return 0;
    if (t[0] == '/')
        return len == 1 || t[1] != '/';
    size_t skip;
    if (len >= 7 && strncasecmp(t, "http://", 7) == 0)
        skip = 7;
    else if (len >= 8 && strncasecmp(t, "https://", 8) == 0)
        skip = 8;
    else
        return 0;
    if (host_len == 0 || len - skip < host_len || strncasecmp(t + skip, host, host_len) != 0)
        return 0;
    if (len == skip + host_len)
        return 1;
    char next = t[skip + host_len];
    return next == '/' || next == '?' || next == '#';
}

int login_path(const char *path, size_t len)
{
    if (len == 10 && memcmp(path, "/_ah/login", 10) == 0)
        return 1;
    if (len == 11 && memcmp(path, "/_ah/logout", 11) == 0)
        return 2;
    return 0;
}

int login_quote(buf_t *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
            if (buf_append(out, &c, 1) < 0)
                return -1;
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            if (buf_append(out, e, 3) < 0)
                return -1;
        }
    }
    return 0;
}

/* ---------- form fields ---------- */

typedef struct {
    buf_t action, email, admin, cont;
    int has_action, has_email, has_cont;
} form_t;

static void form_free(form_t *f)
{
    buf_free(&f->action);
    buf_free(&f->email);
    buf_free(&f->admin);
    buf_free(&f->cont);
}

/* application/x-www-form-urlencoded: '+' is a space. */
static int form_decode(buf_t *out, const char *s, size_t len)
{
    buf_reset(out);
    buf_t plus = BUF_INIT;
    if (buf_append(&plus, s, len) < 0)
        return -1;
    for (size_t i = 0; i < plus.len; i++)
        if (buf_ptr(&plus)[i] == '+')
            buf_ptr(&plus)[i] = ' ';
    int rc = cgi_percent_decode(out, buf_ptr(&plus), plus.len);
    buf_free(&plus);
    if (rc == 0 && buf_append(out, "", 1) == 0) {
        out->len--; /* NUL-terminated for printing */
        return 0;
    }
    return -1;
}

static int form_parse(form_t *f, const char *s, size_t len)
{
    const char *p = s, *end = s + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        size_t klen = (size_t)((eq ? eq : stop) - p);
        const char *v = eq ? eq + 1 : stop;
        size_t vlen = (size_t)(stop - v);
        buf_t *dst = NULL;
        if (klen == 6 && memcmp(p, "action", 6) == 0)
            dst = &f->action, f->has_action = 1;
        else if (klen == 5 && memcmp(p, "email", 5) == 0)
            dst = &f->email, f->has_email = 1;
        else if (klen == 5 && memcmp(p, "admin", 5) == 0)
            dst = &f->admin;
        else if (klen == 8 && memcmp(p, "continue", 8) == 0)
            dst = &f->cont, f->has_cont = 1;
        if (dst && form_decode(dst, v, vlen) < 0)
            return -1;
        p = amp ? amp + 1 : end;
    }
    return 0;
}

static int is_form_body(const http_request_t *req)
{
    size_t len;
    const char *ct = http_request_header(req, "content-type", &len);
    return ct && len >= 33 && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
}

/* ---------- answers ---------- */

/* The page is UTF-8: bytes that are not (a continue URL's %FF) show as
 * U+FFFD rather than making the whole page invalid. */
static int html_escape(buf_t *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] >= 0x80) {
            size_t n = log_utf8_char_len((const unsigned char *)s + i, len - i);
            if (n == 0 ? buf_append_str(out, "\xEF\xBF\xBD") < 0 : buf_append(out, s + i, n) < 0)
                return -1;
            i += n ? n - 1 : 0;
            continue;
        }
        const char *r = NULL;
        switch (s[i]) {
        case '&':
            r = "&amp;";
            break;
        case '<':
            r = "&lt;";
            break;
        case '>':
            r = "&gt;";
            break;
        case '"':
            r = "&quot;";
            break;
        case '\'':
            r = "&#39;";
            break;
        }
        if (r ? buf_append_str(out, r) < 0 : buf_append(out, s + i, 1) < 0)
            return -1;
    }
    return 0;
}

static int respond(buf_t *out, const char *status, const char *location, size_t loc_len,
                   const char *cookie, const char *ctype, const buf_t *body, int keep_alive,
                   int http10, int head_only)
{
    int rc = http_begin_head(out, status, strlen(status));
    if (location)
        rc |= http_add_header(out, "Location", 8, location, loc_len);
    if (cookie)
        rc |= http_add_header(out, "Set-Cookie", 10, cookie, strlen(cookie));
    rc |= http_add_header(out, "Cache-Control", 13, "no-cache", 8);
    rc |= http_add_header(out, "Content-Type", 12, ctype, strlen(ctype));
    rc |= http_end_head(out, body->len, keep_alive, http10);
    if (!head_only)
        rc |= buf_append(out, buf_ptr(body), body->len);
    return rc ? -1 : 0;
}

static int redirect(buf_t *out, const char *location, size_t loc_len, const char *cookie,
                    int keep_alive, int http10, int head_only)
{
    buf_t body = BUF_INIT;
    int rc = buf_append_str(&body, "<html><body>Redirecting to <a href=\"");
    rc |= html_escape(&body, location, loc_len);
    rc |= buf_append_str(&body, "\">the page</a>.</body></html>\n");
    if (rc == 0)
        rc = respond(out, "302 Found", location, loc_len, cookie, "text/html; charset=utf-8", &body,
                     keep_alive, http10, head_only);
    buf_free(&body);
    return rc ? -1 : 302;
}

static int login_form(buf_t *out, const form_t *f, const http_request_t *req, int keep_alive,
                      int http10, int head_only)
{
    login_user_t u;
    login_from_request(req, &u);
    const char *email = u.signed_in ? u.email : "test@example.com";
    buf_t b = BUF_INIT;
    int rc = buf_append_str(&b, "<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
                                "<body>\n<h1>Development sign-in</h1>\n");
    if (u.signed_in) {
        rc |= buf_append_str(&b, "<p>Signed in as <b>");
        rc |= html_escape(&b, u.email, strlen(u.email));
        rc |= buf_append_str(&b, u.admin ? "</b> (administrator).</p>\n" : "</b>.</p>\n");
    } else {
        rc |= buf_append_str(&b, "<p>Not signed in.</p>\n");
    }
    rc |= buf_append_str(&b, "<form method=\"post\" action=\"/_ah/login\">\n"
                             "<p><label>Email: <input type=\"text\" name=\"email\" value=\"");
    rc |= html_escape(&b, email, strlen(email));
    rc |= buf_append_str(&b, "\"></label></p>\n<p><label><input type=\"checkbox\" name=\"admin\" "
                             "value=\"True\"");
    if (u.signed_in && u.admin)
        rc |= buf_append_str(&b, " checked");
    rc |= buf_append_str(&b, "> Sign in as Administrator</label></p>\n"
                             "<input type=\"hidden\" name=\"continue\" value=\"");
    rc |= html_escape(&b, f->has_cont ? buf_ptr(&f->cont) : "/", f->has_cont ? f->cont.len : 1);
    rc |= buf_append_str(&b, "\">\n<p><input type=\"submit\" name=\"action\" value=\"Login\"> "
                             "<input type=\"submit\" name=\"action\" value=\"Logout\"></p>\n"
                             "</form>\n</body></html>\n");
    if (rc == 0)
        rc = respond(out, "200 OK", NULL, 0, NULL, "text/html; charset=utf-8", &b, keep_alive,
                     http10, head_only);
    buf_free(&b);
    return rc ? -1 : 200;
}

static const char clear_cookie[] =
    LOGIN_COOKIE "=\"\"; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT";

int login_serve(buf_t *out, int kind, const http_request_t *req, const char *host, size_t host_len,
                int keep_alive, int http10, int head_only)
{
    form_t f;
    memset(&f, 0, sizeof f);
    const char *path, *query;
    size_t path_len, query_len;
    cgi_split_target(http_request_url(req), req->url_len, &path, &path_len, &query, &query_len);
    int rc = form_parse(&f, query, query_len);
    if (rc == 0 && req->body.len > 0 && is_form_body(req))
        rc = form_parse(&f, buf_ptr(&req->body), req->body.len);
    if (rc < 0) {
        form_free(&f);
        return -1;
    }
    const char *dest = "/";
    size_t dest_len = 1;
    buf_t escaped = BUF_INIT;
    if (f.has_cont && login_continue_ok(buf_ptr(&f.cont), f.cont.len, host, host_len)) {
        /* A Location is ASCII: users.create_login_url('/caf\u00e9') sends
         * the path's UTF-8, which goes back escaped. */
        if (cgi_escape_raw(&escaped, buf_ptr(&f.cont), f.cont.len) < 0) {
            buf_free(&escaped);
            form_free(&f);
            return -1;
        }
        dest = buf_ptr(&escaped);
        dest_len = escaped.len;
    }
    int status;
    int is_login = f.has_action && strcasecmp(buf_ptr(&f.action), "login") == 0;
    int is_logout = kind == 2 || (f.has_action && strcasecmp(buf_ptr(&f.action), "logout") == 0);
    if (is_logout || (is_login && (!f.has_email || f.email.len == 0))) {
        status = redirect(out, dest, dest_len, clear_cookie, keep_alive, http10, head_only);
    } else if (is_login) {
        const char *e = buf_ptr(&f.email);
        if (!email_ok(e, f.email.len) || strlen(e) != f.email.len) {
            status = http_simple_response(out, 400, keep_alive, http10, head_only) < 0 ? -1 : 400;
        } else {
            int admin = f.admin.len > 0 && (strcasecmp(buf_ptr(&f.admin), "true") == 0 ||
                                            strcasecmp(buf_ptr(&f.admin), "on") == 0);
            char id[32], cookie[400];
            login_user_id(e, f.email.len, id);
            snprintf(cookie, sizeof cookie, LOGIN_COOKIE "=\"%s:%s:%s\"; Path=/", e,
                     admin ? "True" : "False", id);
            status = redirect(out, dest, dest_len, cookie, keep_alive, http10, head_only);
        }
    } else {
        status = login_form(out, &f, req, keep_alive, http10, head_only);
    }
    buf_free(&escaped);
    form_free(&f);
    return status;
}

int login_redirect(buf_t *out, const http_request_t *req, const char *host, size_t host_len,
                   int https, int keep_alive, int http10, int head_only)
{
    const char *url = http_request_url(req);
    size_t len = req->url_len;
    buf_t full = BUF_INIT, loc = BUF_INIT;
    int rc = 0;
    if (len > 0 && url[0] == '/') {
        rc |= buf_append_str(&full, https ? "https://" : "http://");
        rc |= buf_append(&full, host, host_len);
    }
    /* Raw bytes of the target escaped, as users.create_login_url escapes
     * them: a continue URL must be ASCII for the sign-in page to take the
     * user back to it (login_continue_ok). */
    rc |= cgi_escape_raw(&full, url, len);
    rc |= buf_append_str(&loc, "/_ah/login?continue=");
    rc |= login_quote(&loc, buf_ptr(&full), full.len);
    int status =
        rc ? -1 : redirect(out, buf_ptr(&loc), loc.len, NULL, keep_alive, http10, head_only);
    buf_free(&full);
    buf_free(&loc);
    return status;
}
