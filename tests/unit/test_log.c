/* log_safe_text (src/log.c): what of an outside text reaches a console
 * line; log_safe_lines: the console lines it makes. */
#include "log.h"
#include "unit.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *safe(const char *in, size_t n)
{
    static char out[256];
    size_t len = log_safe_text(out, in, n);
    CHECK(len == strlen(out));
    return out;
}

#define SAFE(lit) safe(lit, sizeof lit - 1)

static void test_plain_and_valid_utf8_kept(void)
{
    CHECK_STR(SAFE(""), "");
    CHECK_STR(SAFE("memory limit exceeded"), "memory limit exceeded");
    /* é (2 bytes), € (3), 😀 (4), U+00A0 (first after C1), U+10FFFF (last) */
    CHECK_STR(SAFE("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xC2\xA0 \xF4\x8F\xBF\xBF"),
              "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xC2\xA0 \xF4\x8F\xBF\xBF");
}

static void test_controls(void)
{
    CHECK_STR(SAFE("a\nb\rc\td\x1b[2Je\x7f"), "a?b?c?d?[2Je?");
    CHECK_STR(safe("a\0b", 3), "a?b");
    /* C1: U+0085 (NEL), U+009B (CSI), U+0080, U+009F: one '?' each. */
    CHECK_STR(SAFE("x\xC2\x85y\xC2\x9B"
                   "2Jz\xC2\x80\xC2\x9F"),
              "x?y?2Jz??");
}

static void test_invalid_bytes(void)
{
    CHECK_STR(SAFE("a\x80"
                   "b\xBF"),
              "a?b?");                           /* stray continuation */
    CHECK_STR(SAFE("\xC0\xAF\xC1\xBF"), "????"); /* overlong 2-byte */
    CHECK_STR(SAFE("\xE0\x80\xAF"), "???");      /* overlong 3-byte */
    CHECK_STR(SAFE("\xF0\x80\x80\xAF"), "????"); /* overlong 4-byte */
    CHECK_STR(SAFE("\xED\xA0\x80"), "???");      /* a UTF-16 surrogate */
    CHECK_STR(SAFE("\xF4\x90\x80\x80"), "????"); /* beyond U+10FFFF */
    CHECK_STR(SAFE("\xF5\xFE\xFF"), "???");      /* never in UTF-8 */
    CHECK_STR(SAFE("\xC3(\xE2\x82x"), "?(??x");  /* lead, then no continuation */
}

static void test_character_cut_at_the_end(void)
{
    CHECK_STR(SAFE("ok \xE2\x82"), "ok ??");
    CHECK_STR(SAFE("ok \xF0\x9F\x98"), "ok ???");
    CHECK_STR(SAFE("ok \xC3"), "ok ?");
    /* Cut out of a longer buffer: nothing past n is read. */
    CHECK_STR(safe("\xE2\x82\xAC", 2), "??");
}

/* What log_safe_lines writes to the console (fd 2) for text. */
static char *console_of(const char *text, size_t n, size_t *len)
{
    int fd = memfd_create("console", 0), saved = dup(2);
    CHECK(fd >= 0 && saved >= 0 && dup2(fd, 2) == 2);
    log_safe_lines(LOG_WARNING, "instance 1", text, n);
    CHECK(dup2(saved, 2) == 2);
    close(saved);
    off_t size = lseek(fd, 0, SEEK_END);
    char *out = calloc(1, (size_t)size + 1);
    CHECK(out && pread(fd, out, (size_t)size, 0) == size);
    close(fd);
    *len = (size_t)size;
    return out;
}

static int valid_utf8(const char *s, size_t n)
{
    for (size_t i = 0, len; i < n; i += len)
        if (!(len = log_utf8_char_len((const unsigned char *)s + i, n - i)))
            return 0;
    return 1;
}

/* A line longer than the console's is cut between characters: a cut
 * inside one would end the line with a byte a terminal or a UTF-8 reader
 * of the console log takes as garbage. */
static void test_long_line_cut_between_characters(void)
{
    static const char *const chars[] = {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"};
    static char text[40000];
    /* Each character size, after 0-3 ASCII bytes: one of them cuts inside. */
    for (size_t pad = 0; pad < 12; pad++) {
        const char *c = chars[pad % 3];
        size_t clen = strlen(c);
        memset(text, 'x', pad / 3);
        size_t n = pad / 3;
        while (n + clen <= sizeof text) {
            memcpy(text + n, c, clen);
            n += clen;
        }
        size_t len;
        char *out = console_of(text, n, &len);
        CHECK(len > 16000 && len <= 16384 && out[len - 1] == '\n');
        CHECK(valid_utf8(out, len));
        free(out);
    }
}

int main(void)
{
    test_plain_and_valid_utf8_kept();
    test_controls();
    test_invalid_bytes();
    test_character_cut_at_the_end();
    test_long_line_cut_between_characters();
    UNIT_DONE();
}
