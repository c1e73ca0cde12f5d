#include "error_pages.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"
#include "static.h"

static const char *const KIND_NAMES[ERROR_PAGE_KINDS] = {
    [ERROR_PAGE_DEFAULT] = "default",
    [ERROR_PAGE_OVER_QUOTA] = "over_quota",
    [ERROR_PAGE_DOS_API_DENIAL] = "dos_api_denial",
    [ERROR_PAGE_TIMEOUT] = "timeout",
};

int error_page_kind(const char *error_code)
{
    for (int k = 0; k < ERROR_PAGE_KINDS; k++)
        if (strcmp(error_code, KIND_NAMES[k]) == 0)
            return k;
    return -1;
}

/* Reads the whole file (rel: its path cleaned), which must be a regular
 * file of at most ERROR_PAGE_MAX_BYTES. Returns 0, or -1 with the reason
 * in err. */
static int read_page(const error_handler_t *eh, const char *rel, const char *yaml_path,
                     error_page_t *page, char *err, size_t errlen)
{
    int fd = static_open_beneath(rel);
    if (fd < 0) {
        snprintf(err, errlen, "%s:%d: error handler file '%s': %s", yaml_path, eh->file_line,
                 eh->file,
                 errno == EXDEV || errno == ELOOP ? "outside the app folder" : strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s:%d: error handler file '%s' is not a regular file", yaml_path,
                 eh->file_line, eh->file);
        close(fd);
        return -1;
    }
    /* One byte more than the limit, so a file that grew since fstat is
     * caught too. */
    char *body = malloc(ERROR_PAGE_MAX_BYTES + 1);
    size_t len = 0;
    ssize_t n = 0;
    while (body && len <= ERROR_PAGE_MAX_BYTES) {
        n = read(fd, body + len, ERROR_PAGE_MAX_BYTES + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    int read_errno = errno;
    close(fd);
    if (!body || n < 0) {
        snprintf(err, errlen, "%s:%d: error handler file '%s': %s", yaml_path, eh->file_line,
                 eh->file, body ? strerror(read_errno) : "out of memory");
        free(body);
        return -1;
    }
    if (len > ERROR_PAGE_MAX_BYTES) {
        snprintf(err, errlen,
                 "%s:%d: error handler file '%s' is %lld bytes; error pages are limited to %d "
                 "bytes (10 KB)",
                 yaml_path, eh->file_line, eh->file,
                 (long long)(st.st_size > (off_t)len ? st.st_size : (off_t)len),
                 ERROR_PAGE_MAX_BYTES);
        free(body);
        return -1;
    }
    page->body = body;
    page->body_len = len;
    page->content_type = eh->mime_type ? eh->mime_type : static_mime_type(eh->file);
    return 0;
}

int error_pages_load(error_pages_t *pages, const app_config_t *cfg, char *err, size_t errlen)
{
    memset(pages, 0, sizeof *pages);
    int line_of[ERROR_PAGE_KINDS] = {0};
    for (size_t i = 0; i < cfg->n_error_handlers; i++) {
        const error_handler_t *eh = &cfg->error_handlers[i];
        int kind = error_page_kind(eh->error_code);
        if (kind < 0) {
            snprintf(err, errlen, "%s:%d: unknown error_code '%s'", cfg->path, eh->line,
                     eh->error_code);
            goto fail;
        }
        if (line_of[kind]) {
            snprintf(err, errlen, "%s:%d: error_code '%s' already has a page (line %d)", cfg->path,
                     eh->line, eh->error_code, line_of[kind]);
            goto fail;
        }
        if (eh->mime_type &&
            !http_header_valid("Content-Type", 12, eh->mime_type, strlen(eh->mime_type))) {
            snprintf(err, errlen, "%s:%d: error handler mime_type has a control character",
                     cfg->path, eh->line);
            goto fail;
        }
        /* skip_files is matched against the path as the app folder has
         * it, as for static files: "./errors/x.html" is errors/x.html. */
        char rel[PATH_MAX];
        const char *why;
        if (static_clean_path(eh->file, rel, sizeof rel, &why) < 0) {
            snprintf(err, errlen, "%s:%d: error handler file '%s': %s", cfg->path, eh->file_line,
                     eh->file, why);
            goto fail;
        }
        if (config_is_skipped(cfg, rel)) {
            snprintf(err, errlen, "%s:%d: error handler file '%s' is excluded by skip_files",
                     cfg->path, eh->file_line, eh->file);
            goto fail;
        }
        if (read_page(eh, rel, cfg->path, &pages->page[kind], err, errlen) < 0)
            goto fail;
        line_of[kind] = eh->line;
    }
    return 0;
fail:
    error_pages_free(pages);
    return -1;
}

void error_pages_free(error_pages_t *pages)
{
    for (int k = 0; k < ERROR_PAGE_KINDS; k++)
        free(pages->page[k].body);
    memset(pages, 0, sizeof *pages);
}

int error_page_send(const error_pages_t *pages, error_page_kind_t kind, buf_t *out, int status,
                    int keep_alive, int http10, int head_only)
{
    const error_page_t *page = NULL;
    if (pages)
        page = pages->page[kind].body ? &pages->page[kind] : &pages->page[ERROR_PAGE_DEFAULT];
    if (!page || !page->body)
        return http_simple_response(out, status, keep_alive, http10, head_only);
    char line[64];
    int llen = snprintf(line, sizeof line, "%d %s", status, http_reason(status));
    if (http_begin_head(out, line, (size_t)llen) < 0 ||
        http_add_header(out, "Content-Type", 12, page->content_type, strlen(page->content_type)) <
            0 ||
        http_end_head(out, page->body_len, keep_alive, http10) < 0)
        return -1;
    if (!head_only && buf_append(out, page->body, page->body_len) < 0)
        return -1;
    return 0;
}
