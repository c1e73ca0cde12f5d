#include "zygote_children.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An unsorted array: a zygote has at most a few hundred instances (BK9) and
 * the table is touched once per spawn and once per exit. */
typedef struct {
    pid_t pid;
    uint32_t instance_no;
} child_t;

static child_t *children;
static size_t n_children, cap_children;

int children_add(pid_t pid, uint32_t instance_no)
{
    if (n_children == cap_children) {
        size_t cap = cap_children ? cap_children * 2 : 16;
        child_t *p = realloc(children, cap * sizeof *p);
        if (!p)
            return -1;
        children = p;
        cap_children = cap;
    }
    children[n_children++] = (child_t){pid, instance_no};
    return 0;
}

int children_remove(pid_t pid, uint32_t *instance_no)
{
    for (size_t i = 0; i < n_children; i++) {
        if (children[i].pid == pid) {
            *instance_no = children[i].instance_no;
            children[i] = children[--n_children];
            return 0;
        }
    }
    return -1;
}

void children_kill_all(void)
{
    for (size_t i = 0; i < n_children; i++)
        if (kill(children[i].pid, SIGKILL) < 0)
            fprintf(stderr, "gaelic zygote: kill %d: %s\n", (int)children[i].pid, strerror(errno));
}
