/* Which cgroups left under the server's parent cgroup belong to servers
 * that are gone (cgroup_server_gone, src/cgroup_tree.c), judged on real
 * processes: this one, a child of it, and a child already reaped; and the
 * start time read from /proc/PID/stat (src/proc_start.c). And that a tree
 * whose own cgroup another server swept away makes it again (needs write
 * access to the cgroups, root: without it, says so and checks nothing). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup_tree.h"
#include "proc_start.h"
#include "unit.h"

static void test_stat_parsing(void)
{
    unsigned long long start = 0;
    /* A command name with spaces and a ')' in it. */
    CHECK(proc_stat_start_time("77 (a) b (c) S 1 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
                               "98765 1000 10 18446744073709551615\n",
                               &start) == 0);
    CHECK(start == 98765);
    CHECK(proc_stat_start_time("77 (x) S 1 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0", &start) <
          0); /* cut before field 22 */
    CHECK(proc_stat_start_time("77 (x) S 1 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 12x 1",
                               &start) < 0);
    CHECK(proc_stat_start_time("no name here", &start) < 0);
}

/* A child that waits to be killed. */
static pid_t paused_child(void)
{
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    return child;
}

static void name_of(char *out, size_t n, pid_t pid, unsigned long long start)
{
    snprintf(out, n, "gaelic-%d-%llu", (int)pid, start);
}

static void test_live_and_recycled_pid(void)
{
    unsigned long long mine;
    CHECK(proc_start_time(getpid(), &mine) == 0);
    char name[64];
    name_of(name, sizeof name, getpid(), mine);
    CHECK(cgroup_server_gone(name) == 0);
    /* The same pid, another start: another process took the pid. */
    name_of(name, sizeof name, getpid(), mine + 1);
    CHECK(cgroup_server_gone(name) == 1);
    name_of(name, sizeof name, getpid(), mine - 1);
    CHECK(cgroup_server_gone(name) == 1);

    pid_t child = paused_child();
    unsigned long long child_start;
    CHECK(proc_start_time(child, &child_start) == 0);
    name_of(name, sizeof name, child, child_start);
    CHECK(cgroup_server_gone(name) == 0);
    name_of(name, sizeof name, child, mine == child_start ? mine + 1 : mine);
    CHECK(cgroup_server_gone(name) == 1);
    char legacy[64];
    snprintf(legacy, sizeof legacy, "gaelic-%d", (int)child);
    CHECK(cgroup_server_gone(legacy) == 0);

    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    /* Gone: unless its pid came back at once, which is a 1 in pid_max. */
    name_of(name, sizeof name, child, child_start);
    CHECK(cgroup_server_gone(name) == 1);
    CHECK(cgroup_server_gone(legacy) == 1);
    CHECK(proc_start_time(child, &child_start) < 0);
    /* With its pid namespace: judged in ours only. From another, the pid
     * means another process or none here, though that server may run. */
    struct stat ns;
    CHECK(stat("/proc/self/ns/pid", &ns) == 0);
    char with_ns[96];
    snprintf(with_ns, sizeof with_ns, "%s-%llu", name, (unsigned long long)ns.st_ino);
    CHECK(cgroup_server_gone(with_ns) == 1);
    snprintf(with_ns, sizeof with_ns, "%s-%llu", name, (unsigned long long)ns.st_ino + 1);
    CHECK(cgroup_server_gone(with_ns) == 0);
    name_of(name, sizeof name, getpid(), mine);
    snprintf(with_ns, sizeof with_ns, "%s-%llu", name, (unsigned long long)ns.st_ino);
    CHECK(cgroup_server_gone(with_ns) == 0);
}

static void test_names_not_a_servers(void)
{
    const char *names[] = {
        "pid-1",       "zygote-1",    "gaelic-",       "gaelic-x",       "gaelic-0-5",
        "gaelic--1-5", "gaelic-+1-5", "gaelic- 1-5",   "gaelic-1-",      "gaelic-1- 5",
        "gaelic-1--5", "gaelic-1-5x", "gaelic-01-5",   "gaelic-1-05",    "gaelic-2147483647999-1",
        "Gaelic-1-1",  "gaelic-1-5-", "gaelic-1-5-06", "gaelic-1-5-6-7", "gaelic-1-5-x"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        int gone = cgroup_server_gone(names[i]);
        if (gone)
            fprintf(stderr, "taken for a server's: %s\n", names[i]);
        CHECK(gone == 0);
    }
}

/* Whether /proc/PID/cgroup names a cgroup ending in "/child". */
static int in_cgroup(pid_t pid, const char *child)
{
    char path[64], line[4096], tail[64];
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    snprintf(tail, sizeof tail, "/%s\n", child);
    FILE *f = fopen(path, "re");
    int found = 0;
    while (!found && f && fgets(line, sizeof line, f)) {
        size_t n = strlen(line), k = strlen(tail);
        found = n >= k && strcmp(line + n - k, tail) == 0;
    }
    if (f)
        fclose(f);
    return found;
}

/* A tree of controller whose own cgroup another server in another pid
 * namespace swept while it was empty (our pid is not in its /proc, so it
 * takes us for gone), after the server-wide setting file=value when file
 * is given. NULL, the test skipped, without such a cgroup here. */
static cgroup_tree_t *swept_tree(const char *controller, const char *file, const char *value)
{
    char why[1024];
    cgroup_tree_t *t = cgroup_tree_open(controller, why, sizeof why);
    if (!t) {
        fprintf(stderr, "test_cgroup_tree: no %s cgroup of our own (%s): sweep test skipped\n",
                controller, why);
        return NULL;
    }
    if (file)
        CHECK(cgroup_tree_set(t, NULL, file, value) == 0);
    CHECK(rmdir(cgroup_tree_dir(t)) == 0);
    return t;
}

/* A paused child moved into its own cgroup of t, named in name
 * (CGROUP_CHILD_MAX bytes). */
static pid_t moved_child(cgroup_tree_t *t, char *name)
{
    pid_t child = paused_child();
    cgroup_child(name, "pid", child);
    CHECK(cgroup_tree_move(t, name, child) == 0);
    return child;
}

/* Kills child, removes its cgroup name and closes t. */
static void end_child(cgroup_tree_t *t, const char *name, pid_t child)
{
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    cgroup_tree_remove(t, name);
    cgroup_tree_close(t);
}

static void test_own_cgroup_swept_by_another_server(void)
{
    cgroup_tree_t *t = swept_tree("cpu", NULL, NULL);
    if (!t)
        return;
    char name[CGROUP_CHILD_MAX];
    pid_t child = moved_child(t, name);
    CHECK(in_cgroup(child, name));
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", cgroup_tree_dir(t));
    end_child(t, name, child);
    /* Made again by the tree, so removed by it at close. */
    CHECK(access(dir, F_OK) < 0 && errno == ENOENT);
}

/* The server-wide cap (thread_cap: pids.max of the server's own cgroup)
 * holds again once the swept cgroup is made again. */
static void test_own_settings_back_after_a_sweep(void)
{
    cgroup_tree_t *t = swept_tree("pids", "pids.max", "1234");
    if (!t)
        return;
    char name[CGROUP_CHILD_MAX];
    pid_t child = moved_child(t, name);
    char path[4096], value[32] = {0};
    snprintf(path, sizeof path, "%s/pids.max", cgroup_tree_dir(t));
    FILE *f = fopen(path, "re");
    CHECK(f && fgets(value, sizeof value, f));
    if (f)
        fclose(f);
    CHECK(strcmp(value, "1234\n") == 0);
    end_child(t, name, child);
}

int main(void)
{
    test_stat_parsing();
    test_live_and_recycled_pid();
    test_names_not_a_servers();
    test_own_cgroup_swept_by_another_server();
    test_own_settings_back_after_a_sweep();
    UNIT_DONE();
}
