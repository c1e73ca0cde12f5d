/* The cgroup mover (src/cgroup_mover.c) on the real cgroup tree, with real
 * processes: a placement is reported in the loop once the process is in
 * its own cgroups with its limit; a forgotten owner hears nothing, though
 * its process is still moved; a move still queued when its process is
 * released is dropped; a removal the kernel refused while the process
 * lived is retried until it is done; a zygote's move is followed by moves
 * that change nothing while the mover is idle, which neither hold back the
 * next placement nor outlive the zygote's release; removals asked for are
 * done by the stop.
 * Needs write access to the cgroups (root); says so and checks nothing
 * without it. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup_mover.h"
#include "cpu_cap.h"
#include "thread_cap.h"
#include "unit.h"
#include "unit_loop.h"

static cgroup_placement_t reported[8];
static int n_reported;

static void placed(const cgroup_placement_t *p)
{
    if (n_reported < 8)
        reported[n_reported] = *p;
    n_reported++;
}

static pid_t idle_child(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

static void end_child(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Whether pid is in a cgroup of its own ("/.../KIND-PID") of controller. */
static int in_cgroup_named(pid_t pid, const char *controller, const char *kind)
{
    char path[64], line[512], want[64], ctl[64];
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    snprintf(want, sizeof want, "/%s-%d\n", kind, (int)pid);
    snprintf(ctl, sizeof ctl, ":%s:", controller);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line), w = strlen(want);
        if (strstr(line, ctl) && n >= w && !strcmp(line + n - w, want))
            found = 1;
    }
    fclose(f);
    return found;
}

static int in_own_cgroup(pid_t pid, const char *controller)
{
    return in_cgroup_named(pid, controller, "pid");
}

/* The folder of a pids cgroup (KIND-PID) under the server's, from where
 * ("cgroup v1 pids at DIR"). */
static void named_dir(const thread_cap_t *t, const char *kind, pid_t pid, char *out, size_t n)
{
    const char *at = strstr(thread_cap_where(t), " at ");
    snprintf(out, n, "%s/%s-%d", at ? at + 4 : "", kind, (int)pid);
}

static void child_dir(const thread_cap_t *t, pid_t pid, char *out, size_t n)
{
    named_dir(t, "pid", pid, out, n);
}

static void run_until_reported(loop_t *loop, int count)
{
    for (int i = 0; i < 500 && n_reported < count; i++)
        unit_run_for(loop, 10);
}

int main(void)
{
    char why[512];
    thread_cap_t *threads = thread_cap_open(why, sizeof why);
    if (!threads) {
        printf("cgroup mover not tested: %s\n", why);
        UNIT_DONE();
    }
    cpu_cap_t *cpu = cpu_cap_open(why, sizeof why); /* may be NULL: threads only */
    loop_t loop;
    CHECK(loop_init(&loop) == 0);
    cgroup_mover_t *m = cgroup_mover_start(&loop, cpu, threads, why, sizeof why);
    CHECK(m != NULL);
    if (!m)
        UNIT_DONE();
    int owner_a, owner_b;

    /* Placed, reported in the loop, with the limit. */
    pid_t a = idle_child();
    CHECK(cgroup_mover_place(m, &owner_a, placed, 7, a, 600, 42) == 0);
    CHECK(n_reported == 0); /* only the loop reports */
    run_until_reported(&loop, 1);
    CHECK(n_reported == 1);
    CHECK(reported[0].owner == &owner_a && reported[0].tag == 7 && reported[0].pid == a);
    CHECK(reported[0].cpu_err == 0 && reported[0].thread_err == 0);
    CHECK(in_own_cgroup(a, "pids"));
    if (cpu)
        CHECK(in_own_cgroup(a, "cpu"));
    char dir[600], max_path[700], text[32] = "";
    child_dir(threads, a, dir, sizeof dir);
    snprintf(max_path, sizeof max_path, "%s/pids.max", dir);
    FILE *f = fopen(max_path, "re");
    CHECK(f && fgets(text, sizeof text, f));
    if (f)
        fclose(f);
    CHECK_STR(text, "42\n");

    /* A forgotten owner: moved all the same, never told. */
    pid_t b = idle_child();
    CHECK(cgroup_mover_place(m, &owner_b, placed, 8, b, 600, 42) == 0);
    cgroup_mover_forget(m, &owner_b);
    for (int i = 0; i < 500 && !in_own_cgroup(b, "pids"); i++)
        unit_run_for(&loop, 10);
    CHECK(in_own_cgroup(b, "pids"));
    unit_run_for(&loop, 50);
    CHECK(n_reported == 1);

    /* A move still queued when its pid is released is not done (the pid
     * could be reused by then) and reports ESRCH. The thread is busy with
     * c's move (mkdir, two writes) while d's are queued right behind it;
     * moved anyway, d would stay in its cgroup, which a removal cannot
     * take from a live process. */
    pid_t c = idle_child(), d = idle_child();
    n_reported = 0;
    CHECK(cgroup_mover_place(m, &owner_a, placed, 9, c, 600, 42) == 0);
    CHECK(cgroup_mover_place(m, &owner_a, placed, 10, d, 600, 42) == 0);
    cgroup_mover_release(m, d, 0);
    run_until_reported(&loop, 2);
    CHECK(n_reported == 2);
    CHECK(reported[0].pid == c && reported[0].thread_err == 0);
    CHECK(reported[1].pid == d && reported[1].thread_err == ESRCH);
    CHECK(in_own_cgroup(c, "pids"));
    CHECK(!in_own_cgroup(d, "pids"));
    end_child(d);
    end_child(c);
    cgroup_mover_release(m, c, 0);

    /* Released while still alive (an instance killed along with its
     * zygote): the kernel refuses the removal, and the mover retries it
     * on its own once the process is gone, with no later release to
     * trigger it. */
    pid_t e = idle_child();
    n_reported = 0;
    CHECK(cgroup_mover_place(m, &owner_a, placed, 11, e, 600, 42) == 0);
    run_until_reported(&loop, 1);
    CHECK(in_own_cgroup(e, "pids"));
    char e_dir[600];
    child_dir(threads, e, e_dir, sizeof e_dir);
    cgroup_mover_release(m, e, 0);
    unit_run_for(&loop, 50);
    struct stat st;
    CHECK(stat(e_dir, &st) == 0); /* e still lives in it */
    end_child(e);
    for (int i = 0; i < 300 && stat(e_dir, &st) == 0; i++)
        unit_run_for(&loop, 10);
    CHECK(stat(e_dir, &st) < 0);

    /* A zygote is moved into a cgroup of its own, reported like an
     * instance (tag 0). Then, while nothing else is queued, it is moved
     * there again and again (keeping the kernel's cgroup lock ready for
     * the next move): the placement of its first instance is not held
     * back by that, the zygote stays where it was, and once the zygote is
     * gone and released its cgroup goes and is not made again. */
    pid_t z = idle_child();
    n_reported = 0;
    CHECK(cgroup_mover_place_zygote(m, &owner_a, placed, z) == 0);
    run_until_reported(&loop, 1);
    CHECK(n_reported == 1 && reported[0].tag == 0 && reported[0].pid == z);
    CHECK(reported[0].thread_err == 0);
    CHECK(in_cgroup_named(z, "pids", "zygote"));
    unit_run_for(&loop, 20); /* the mover is moving it again meanwhile */
    pid_t g = idle_child();
    CHECK(cgroup_mover_place(m, &owner_a, placed, 12, g, 600, 42) == 0);
    run_until_reported(&loop, 2);
    CHECK(n_reported == 2 && reported[1].pid == g && reported[1].thread_err == 0);
    CHECK(in_own_cgroup(g, "pids"));
    CHECK(in_cgroup_named(z, "pids", "zygote"));
    end_child(g);
    cgroup_mover_release(m, g, 0);
    /* A second zygote, released while the mover keeps its lock ready. */
    pid_t z2 = idle_child();
    CHECK(cgroup_mover_place_zygote(m, &owner_a, placed, z2) == 0);
    run_until_reported(&loop, 3);
    CHECK(n_reported == 3 && reported[2].pid == z2 && reported[2].thread_err == 0);
    unit_run_for(&loop, 20);
    char z2_dir[600];
    named_dir(threads, "zygote", z2, z2_dir, sizeof z2_dir);
    end_child(z2);
    cgroup_mover_release(m, z2, 1);
    for (int i = 0; i < 300 && stat(z2_dir, &st) == 0; i++)
        unit_run_for(&loop, 10);
    CHECK(stat(z2_dir, &st) < 0);
    unit_run_for(&loop, 30);
    CHECK(stat(z2_dir, &st) < 0);
    end_child(z);
    cgroup_mover_release(m, z, 1);

    /* Gone processes: the stop does the removals still queued. */
    end_child(a);
    end_child(b);
    cgroup_mover_release(m, a, 0);
    cgroup_mover_release(m, b, 0);
    cgroup_mover_stop(m);
    CHECK(stat(dir, &st) < 0);
    child_dir(threads, b, dir, sizeof dir);
    CHECK(stat(dir, &st) < 0);

    cpu_cap_close(cpu);
    thread_cap_close(threads);
    loop_close(&loop);
    UNIT_DONE();
}
