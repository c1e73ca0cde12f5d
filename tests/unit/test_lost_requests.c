/* The requests lost with an instance, kept until its exit status is known
 * (src/lost_requests.c): taken once by their instance's pid, and past the
 * ring's size the oldest forgotten. */
#include <stdio.h>
#include <string.h>

#include "lost_requests.h"
#include "unit.h"

typedef struct {
    int n;
    char last[LOST_REQUEST_ID_MAX];
} seen_t;

static void found(void *ctx, const char *log_id)
{
    seen_t *s = ctx;
    s->n++;
    snprintf(s->last, sizeof s->last, "%s", log_id);
}

static lost_requests_t lost; /* 9 KB: not on the stack */

int main(void)
{
    seen_t s = {0};
    lost_requests_add(&lost, 100, "aaaa");
    lost_requests_add(&lost, 200, "bbbb");
    lost_requests_add(&lost, 100, "cccc");
    lost_requests_add(&lost, 0, "dddd"); /* no pid: not kept */
    lost_requests_add(&lost, 300, "");   /* no log id: not kept */
    lost_requests_take(&lost, 100, found, &s);
    CHECK(s.n == 2);
    s.n = 0;
    lost_requests_take(&lost, 100, found, &s); /* once only */
    CHECK(s.n == 0);
    lost_requests_take(&lost, 300, found, &s);
    CHECK(s.n == 0);
    lost_requests_take(&lost, 200, found, &s);
    CHECK(s.n == 1 && strcmp(s.last, "bbbb") == 0);
    /* A full ring forgets the oldest. */
    char id[16];
    for (int i = 0; i < LOST_REQUESTS_MAX + 3; i++) {
        snprintf(id, sizeof id, "id%d", i);
        lost_requests_add(&lost, 400 + (i < 3 ? 1 : 0), id);
    }
    s.n = 0;
    lost_requests_take(&lost, 401, found, &s);
    CHECK(s.n == 0);
    lost_requests_take(&lost, 400, found, &s);
    CHECK(s.n == LOST_REQUESTS_MAX);
    /* Forgotten all at once (their zygote died). */
    lost_requests_add(&lost, 500, "eeee");
    lost_requests_forget(&lost);
    s.n = 0;
    lost_requests_take(&lost, 500, found, &s);
    CHECK(s.n == 0);
    UNIT_DONE();
}
