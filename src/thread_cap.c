#include "thread_cap.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup_tree.h"

struct thread_cap {
    cgroup_tree_t *tree;
    long total;
    char where[PATH_MAX + 32];
};

static long read_long(const char *path)
{
    FILE *f = fopen(path, "re");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

/* Half of the tasks the host allows: the server may never take the rest. */
static long host_share(void)
{
    long pid_max = read_long("/proc/sys/kernel/pid_max");
    long threads_max = read_long("/proc/sys/kernel/threads-max");
    long host = pid_max > 0 ? pid_max : 32768;
    if (threads_max > 0 && threads_max < host)
        host = threads_max;
    return host / 2;
}

thread_cap_t *thread_cap_open(char *why, size_t n)
{
    thread_cap_t *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(why, n, "out of memory");
        return NULL;
    }
    if (!(t->tree = cgroup_tree_open("pids", why, n))) {
        free(t);
        return NULL;
    }
    t->total = host_share();
    char text[32];
    snprintf(text, sizeof text, "%ld", t->total);
    if (cgroup_tree_set(t->tree, NULL, "pids.max", text) < 0) {
        snprintf(why, n, "cannot limit the tasks of %.300s: %s", cgroup_tree_dir(t->tree),
                 strerror(errno));
        cgroup_tree_close(t->tree);
        free(t);
        return NULL;
    }
    snprintf(t->where, sizeof t->where, "cgroup v%d pids at %s", cgroup_tree_version(t->tree),
             cgroup_tree_dir(t->tree));
    return t;
}

const char *thread_cap_where(const thread_cap_t *t)
{
    return t->where;
}

long thread_cap_total(const thread_cap_t *t)
{
    return t->total;
}

int thread_cap_add_zygote(thread_cap_t *t, pid_t pid)
{
    char child[CGROUP_CHILD_MAX];
    cgroup_child(child, "zygote", pid);
    return cgroup_tree_move(t->tree, child, pid);
}

int thread_cap_add(thread_cap_t *t, pid_t pid, int max_threads)
{
    char child[CGROUP_CHILD_MAX], text[32];
    cgroup_child(child, "pid", pid);
    snprintf(text, sizeof text, "%d", max_threads);
    if (cgroup_tree_set(t->tree, child, "pids.max", text) < 0 ||
        cgroup_tree_move(t->tree, child, pid) < 0) {
        int saved = errno;
        cgroup_tree_remove(t->tree, child);
        errno = saved;
        return -1;
    }
    return 0;
}

void thread_cap_release(thread_cap_t *t, pid_t pid, int zygote)
{
    char child[CGROUP_CHILD_MAX];
    cgroup_child(child, zygote ? "zygote" : "pid", pid);
    cgroup_tree_remove(t->tree, child);
}

int thread_cap_retry_removals(thread_cap_t *t)
{
    return cgroup_tree_retry_removals(t->tree);
}

void thread_cap_close(thread_cap_t *t)
{
    if (!t)
        return;
    cgroup_tree_close(t->tree);
    free(t);
}
