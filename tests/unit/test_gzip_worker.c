/* gzip of response bodies (src/gzip.c) and its threads (src/gzip_worker.c):
 * a stream deflated a megabyte at a time inflates to its input; a cancel
 * stops it and leaves the output as it was; the worker hands each task's
 * copy and stream to its owner in the loop, and never a cancelled one's. */
#include <stdlib.h>
#include <zlib.h>

#include "gzip.h"
#include "gzip_worker.h"
#include "unit.h"
#include "unit_loop.h"

/* Text that deflate shrinks, but not to nothing: hex of pseudo-random bytes. */
static char *text(size_t n, unsigned seed)
{
    char *p = malloc(n);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = "0123456789abcdef"[(seed >> 16) & 15];
    }
    return p;
}

/* Whether gz is a gzip stream of exactly want[0..n). */
static int inflates_to(const char *gz, size_t gz_len, const char *want, size_t n)
{
    z_stream z = {0};
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return 0;
    char *out = malloc(n + 1);
    z.next_in = (Bytef *)gz;
    z.avail_in = (uInt)gz_len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)(n + 1);
    int rc = inflate(&z, Z_FINISH);
    int ok = rc == Z_STREAM_END && z.total_out == n && z.avail_in == 0 && !memcmp(out, want, n);
    inflateEnd(&z);
    free(out);
    return ok;
}

static void test_compress_in_slices(void)
{
    size_t n = (3u << 20) + 12345; /* four slices, the last a short one */
    char *in = text(n, 1);
    buf_t out = BUF_INIT;
    buf_append_str(&out, "head");
    atomic_int cancel;
    atomic_init(&cancel, 0);
    CHECK(gzip_compress_cancellable(in, n, &out, &cancel) == 0);
    CHECK(out.len > 4 && out.len < n && !memcmp(buf_ptr(&out), "head", 4));
    CHECK(inflates_to(buf_ptr(&out) + 4, out.len - 4, in, n));

    buf_reset(&out);
    CHECK(gzip_compress(in, 0, &out) == 0 && inflates_to(buf_ptr(&out), out.len, in, 0));

    buf_reset(&out);
    buf_append_str(&out, "head");
    atomic_store(&cancel, 1);
    CHECK(gzip_compress_cancellable(in, n, &out, &cancel) == -1);
    CHECK(out.len == 4);
    buf_free(&out);
    free(in);
}

typedef struct {
    const char *want;
    size_t n;
    int calls;
    int ok;
} owner_t;

static int n_done;

static void done(void *owner, const char *body, size_t len, const buf_t *gz)
{
    owner_t *o = owner;
    o->calls++;
    o->ok = len == o->n && body != o->want && !memcmp(body, o->want, len) &&
            inflates_to(buf_ptr(gz), gz->len, o->want, o->n);
    n_done++;
}

static void test_worker(void)
{
    loop_t loop;
    CHECK(loop_init(&loop) == 0);
    char why[128] = "";
    thread_jobs_t *w = gzip_worker_start(&loop, why, sizeof why);
    CHECK(w != NULL);
    if (!w) {
        fprintf(stderr, "gzip_worker_start: %s\n", why);
        loop_close(&loop);
        return;
    }
    enum { TASKS = 6 };
    owner_t owners[TASKS] = {{0}};
    char *inputs[TASKS];
    gzip_task_t *tasks[TASKS];
    for (int i = 0; i < TASKS; i++) {
        owners[i].n = (size_t)(i + 1) * 700000;
        inputs[i] = text(owners[i].n, (unsigned)i + 7);
        owners[i].want = inputs[i];
        tasks[i] = gzip_worker_submit(w, inputs[i], owners[i].n, done, &owners[i]);
        CHECK(tasks[i] != NULL);
    }
    /* Cancelled wherever they are: queued, running, or done and waiting
     * for the loop. */
    gzip_worker_cancel(w, tasks[0]);
    gzip_worker_cancel(w, tasks[5]);
    for (int tries = 0; n_done < TASKS - 2 && tries < 200; tries++)
        unit_run_for(&loop, 50);
    CHECK(n_done == TASKS - 2);
    CHECK(owners[0].calls == 0 && owners[5].calls == 0);
    for (int i = 1; i < TASKS - 1; i++)
        CHECK(owners[i].calls == 1 && owners[i].ok);

    /* A task finished but not yet handed over is dropped by a cancel. */
    owner_t late = {.want = inputs[1], .n = owners[1].n};
    gzip_task_t *t = gzip_worker_submit(w, inputs[1], late.n, done, &late);
    sleep(1); /* time to finish, with the loop not running */
    gzip_worker_cancel(w, t);
    unit_run_for(&loop, 100);
    CHECK(late.calls == 0);

    /* The stop frees what is still queued (here: cancelled at once). */
    gzip_worker_cancel(w, gzip_worker_submit(w, inputs[4], owners[4].n, done, &late));
    thread_jobs_stop(w);
    CHECK(late.calls == 0);
    for (int i = 0; i < TASKS; i++)
        free(inputs[i]);
    loop_close(&loop);
}

int main(void)
{
    test_compress_in_slices();
    test_worker();
    UNIT_DONE();
}
