#include "lost_requests.h"

#include <stdio.h>
#include <string.h>

void lost_requests_add(lost_requests_t *l, pid_t pid, const char *log_id)
{
    if (pid <= 0 || !log_id || !log_id[0])
        return;
    unsigned k = l->next++ % LOST_REQUESTS_MAX;
    l->e[k].pid = pid;
    snprintf(l->e[k].log_id, sizeof l->e[k].log_id, "%s", log_id);
}

void lost_requests_take(lost_requests_t *l, pid_t pid, void (*found)(void *ctx, const char *log_id),
                        void *ctx)
{
    if (pid <= 0)
        return;
    for (unsigned k = 0; k < LOST_REQUESTS_MAX; k++)
        if (l->e[k].pid == pid) {
            l->e[k].pid = 0;
            found(ctx, l->e[k].log_id);
        }
}

void lost_requests_forget(lost_requests_t *l)
{
    for (unsigned k = 0; k < LOST_REQUESTS_MAX; k++)
        l->e[k].pid = 0;
}
