#ifndef GAELIC_LOST_REQUESTS_H
#define GAELIC_LOST_REQUESTS_H

#include <sys/types.h>

/* The requests an instance lost before its exit status was known: an
 * instance's channel usually closes a moment before the zygote reports how
 * it ended, and the requests fail at once; their logs get the "killed by
 * signal 11 (Segmentation fault)" once it is known. A fixed ring: past
 * LOST_REQUESTS_MAX, the oldest are forgotten (their logs keep what they
 * said at the loss). */
#define LOST_REQUESTS_MAX 256
#define LOST_REQUEST_ID_MAX 32

typedef struct {
    struct {
        pid_t pid; /* 0: a free entry */
        char log_id[LOST_REQUEST_ID_MAX];
    } e[LOST_REQUESTS_MAX];
    unsigned next;
} lost_requests_t;

/* Remembers that request log_id was lost with instance pid (> 0). */
void lost_requests_add(lost_requests_t *l, pid_t pid, const char *log_id);

/* Forgets every request kept: no word of their instances' ends will come
 * (their zygote died). */
void lost_requests_forget(lost_requests_t *l);

/* Calls found(ctx, log_id) for each request lost with pid, and forgets
 * them. */
void lost_requests_take(lost_requests_t *l, pid_t pid, void (*found)(void *ctx, const char *log_id),
                        void *ctx);

#endif
