/* .gcloudignore rules as the skip_files regex of python3 apps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gcloudignore.h"
#include "skip_match.h"
#include "unit.h"

static char err[512];

/* 1 when the rules leave path out, 0 when they keep it, -1 on an error. */
static int skipped_in(const char *root, const char *rules, const char *path)
{
    buf_t re = BUF_INIT;
    if (gcloudignore_regex(root, ".gcloudignore", rules, strlen(rules), &re, err, sizeof err) < 0) {
        buf_free(&re);
        return -1;
    }
    int code;
    PCRE2_SIZE off;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)buf_ptr(&re), PCRE2_ZERO_TERMINATED,
                                  SKIP_FILES_ANCHORING, &code, &off, NULL);
    if (!c)
        fprintf(stderr, "does not compile: %s\n", buf_ptr(&re));
    buf_free(&re);
    if (!c)
        return -1;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(c, NULL);
    int rc = skip_match(c, md, path, strlen(path));
    pcre2_match_data_free(md);
    pcre2_code_free(c);
    return rc;
}

static int skipped(const char *rules, const char *path)
{
    return skipped_in("/nonexistent", rules, path);
}

static void test_gcloud_default(void)
{
    const char *d = GCLOUDIGNORE_DEFAULT;
    CHECK(skipped(d, ".git/config") == 1);
    CHECK(skipped(d, "sub/.git/HEAD") == 1);
    CHECK(skipped(d, ".gitignore") == 1 && skipped(d, "a/.gcloudignore") == 1);
    CHECK(skipped(d, "pkg/__pycache__/m.cpython-311.pyc") == 1);
    CHECK(skipped(d, "setup.cfg") == 1);
    CHECK(skipped(d, "sub/setup.cfg") == 0);
    CHECK(skipped(d, ".env") == 0 && skipped(d, ".well-known/security.txt") == 0);
    CHECK(skipped(d, "main.py") == 0 && skipped(d, ".github/x") == 0);
}

static void test_patterns(void)
{
    /* A name matches at any depth, a path with '/' from the top. */
    CHECK(skipped("venv\n", "venv/lib/x.py") == 1);
    CHECK(skipped("venv\n", "a/venv") == 1);
    CHECK(skipped("venv\n", "venvs/x") == 0);
    CHECK(skipped("/venv\n", "a/venv/x") == 0 && skipped("/venv\n", "venv/x") == 1);
    CHECK(skipped("docs/build\n", "docs/build/i.html") == 1);
    CHECK(skipped("docs/build\n", "x/docs/build/i.html") == 0);
    CHECK(skipped("*.md\n", "README.md") == 1 && skipped("*.md\n", "d/CHANGES.md") == 1);
    CHECK(skipped("*.md\n", "md.py") == 0);
    CHECK(skipped("/*.md\n", "d/CHANGES.md") == 0);
    CHECK(skipped("t?st.py\n", "test.py") == 1 && skipped("t?st.py\n", "t/st.py") == 0);
    CHECK(skipped("file[0-9].txt\n", "file7.txt") == 1);
    CHECK(skipped("file[!0-9].txt\n", "file7.txt") == 0);
    CHECK(skipped("file[!0-9].txt\n", "filex.txt") == 1);
    CHECK(skipped("**/logs\n", "a/b/logs/x") == 1);
    CHECK(skipped("a/**/b\n", "a/b") == 1 && skipped("a/**/b\n", "a/x/y/b") == 1);
    CHECK(skipped("a/**\n", "a/x/y") == 1 && skipped("a/**\n", "b/a/x") == 0);
    /* A trailing '/' (folders only) matches a file of that name too. */
    CHECK(skipped("build/\n", "build/out.o") == 1 && skipped("build/\n", "build") == 1);
    CHECK(skipped("build/\n", "builds/x") == 0);
    /* Regex characters are themselves; a backslash escapes. */
    CHECK(skipped("a+b.(c)\n", "a+b.(c)") == 1 && skipped("a+b.(c)\n", "aab.(c)") == 0);
    CHECK(skipped("\\#x\n", "#x") == 1);
    CHECK(skipped("\\!x\n", "!x") == 1);
    CHECK(skipped("[unclosed\n", "[unclosed") == 1);
    /* Comments, blank lines, trailing spaces (not an escaped one), CRLF. */
    CHECK(skipped("# main.py\n\n", "main.py") == 0);
    CHECK(skipped("main.py   \r\n", "main.py") == 1);
    CHECK(skipped("sp\\ \n", "sp ") == 1);
    CHECK(skipped("", "x") == 0);
    /* A regex the instances' command line can carry. */
    static char many[200000];
    for (size_t i = 0; i + 16 < sizeof many; i += 16)
        memcpy(many + i, "rule-to-skip-xx\n", 16);
    CHECK(skipped(many, "x") == -1);
    CHECK(strstr(err, "/nonexistent/.gcloudignore: too many rules") != NULL);
}

static void test_negation(void)
{
    /* The last rule that matches decides. */
    CHECK(skipped("*.txt\n!keep.txt\n", "keep.txt") == 0);
    CHECK(skipped("*.txt\n!keep.txt\n", "drop.txt") == 1);
    CHECK(skipped("!keep.txt\n*.txt\n", "keep.txt") == 1);
    CHECK(skipped("!x\n", "x") == 0);
    /* A file under a left-out folder stays out, as in git. */
    CHECK(skipped("logs/\n!logs/keep\n", "logs/keep") == 1);
}

static void test_include(void)
{
    char root[] = "/tmp/gaelic-test-gcloudignore-XXXXXX";
    if (!mkdtemp(root)) {
        CHECK(!"mkdtemp");
        return;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/.gitignore", root);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("# local\n.env\nvenv/\n", f);
        fclose(f);
    }
    const char *rules = ".git\n#!include:.gitignore\n";
    CHECK(skipped_in(root, rules, ".env") == 1);
    CHECK(skipped_in(root, rules, "venv/bin/python") == 1);
    CHECK(skipped_in(root, rules, "main.py") == 0);
    /* The app's own .gcloudignore, else gcloud's default with .gitignore. */
    buf_t re = BUF_INIT;
    CHECK(gcloudignore_app_regex(root, &re, err, sizeof err) == 0);
    CHECK(strstr(buf_ptr(&re), "\\.env") != NULL);
    buf_free(&re);
    CHECK(skipped_in(root, "#!include:missing\n", "x") == -1);
    char want[512];
    snprintf(want, sizeof want, "%s/.gcloudignore:1: #!include:missing: No such file or directory",
             root);
    CHECK_STR(err, want);
    CHECK(skipped_in(root, "a\n#!include:../etc/passwd\n", "x") == -1);
    snprintf(want, sizeof want,
             "%s/.gcloudignore:2: #!include:../etc/passwd: name a file inside the app folder",
             root);
    CHECK_STR(err, want);
    /* An include of itself ends. */
    snprintf(path, sizeof path, "%s/self", root);
    f = fopen(path, "w");
    if (f) {
        fputs("#!include:self\nx\n", f);
        fclose(f);
    }
    CHECK(skipped_in(root, "#!include:self\n", "x") == 1);
    unlink(path);
    /* A FIFO (or anything not a regular file) is refused, not waited on. */
    snprintf(path, sizeof path, "%s/.gcloudignore", root);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK(gcloudignore_app_regex(root, &re, err, sizeof err) == -1);
    snprintf(want, sizeof want, "%s: not a regular file", path);
    CHECK_STR(err, want);
    buf_free(&re);
    unlink(path);
    snprintf(path, sizeof path, "%s/.gitignore", root);
    unlink(path);
    rmdir(root);
}

int main(void)
{
    test_gcloud_default();
    test_patterns();
    test_negation();
    test_include();
    UNIT_DONE();
}
