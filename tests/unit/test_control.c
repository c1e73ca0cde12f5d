/* The control socket (src/control.c): a client in a child process talks to
 * the server running in this process's event loop. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "unit.h"
#include "unit_loop.h"

static char dir[] = "/tmp/gaelic-control-XXXXXX";

static int handler(void *ctx, int argc, char **argv, buf_t *out, char *err, size_t errlen)
{
    (*(int *)ctx)++;
    if (!strcmp(argv[0], "echo")) {
        for (int i = 1; i < argc; i++)
            buf_printf(out, "word %d: %s\n", i, argv[i]);
        return 0;
    }
    snprintf(err, errlen, "unknown command '%s'\nsecond line", argv[0]);
    return -1;
}

static pid_t child;
static int child_status = -1, ticks;

/* Stops the loop once the child has exited (or after 5 s). */
static void watch_child(loop_t *loop, loop_timer_t *t)
{
    if (waitpid(child, &child_status, WNOHANG) == child || ++ticks > 500) {
        loop->stop = 1;
        return;
    }
    loop_timer_start(loop, t, 10);
}

/* Runs control_call in a child while this process runs the server's event
 * loop; returns the child's exit code and fills out with what it printed. */
static int call(loop_t *loop, int argc, char **argv, const char *const *names, char *out,
                size_t outlen)
{
    int pipefd[2];
    if (pipe(pipefd) < 0)
        return -1;
    child = fork();
    if (child == 0) {
        close(pipefd[0]);
        FILE *f = fdopen(pipefd[1], "w");
        int rc = control_call(dir, argc, argv, names, f, f);
        fclose(f);
        _exit(rc);
    }
    close(pipefd[1]);
    child_status = -1;
    ticks = 0;
    loop_timer_t t = {.cb = watch_child};
    loop->stop = 0;
    loop_timer_start(loop, &t, 10);
    loop_run(loop);
    loop_timer_stop(loop, &t);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < outlen && (r = read(pipefd[0], out + got, outlen - got - 1)) > 0)
        got += (size_t)r;
    out[got] = '\0';
    close(pipefd[0]);
    return WIFEXITED(child_status) ? WEXITSTATUS(child_status) : -1;
}

/* A client in this process: connected, its request not yet sent. */
static int raw_connect(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", dir, CONTROL_SOCKET);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Whether fd got the answer to "echo\tx". */
static int answered(int fd)
{
    char got[64] = "";
    ssize_t n = read(fd, got, sizeof got - 1);
    got[n > 0 ? n : 0] = '\0';
    return !strcmp(got, "word 1: x\nok\n");
}

static void send_echo(int fd)
{
    CHECK(send(fd, "echo\tx\n", 7, MSG_NOSIGNAL) == 7);
}

/* More clients at once than the server serves together: the others wait in
 * the backlog and are answered as places free up, none is dropped. */
static void test_clients_over_the_limit_wait(loop_t *loop)
{
    enum { N = 17 };
    int fds[N];
    for (int i = 0; i < N; i++)
        CHECK((fds[i] = raw_connect()) >= 0);
    unit_run_for(loop, 50);
    for (int i = 0; i < N; i++)
        send_echo(fds[i]);
    unit_run_for(loop, 200);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        ok += answered(fds[i]);
        close(fds[i]);
    }
    CHECK(ok == N);
}

/* accept failing for want of descriptors is tried again: the clients
 * already waiting raise no new event on the edge-triggered listener. */
static void test_accept_retried_after_emfile(loop_t *loop)
{
    int fd = raw_connect();
    CHECK(fd >= 0);
    send_echo(fd);
    struct rlimit old, low;
    CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
    int highest = fcntl(0, F_DUPFD, 0); /* the lowest free descriptor */
    close(highest);
    low = old;
    low.rlim_cur = (rlim_t)highest;
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    unit_run_for(loop, 30);
    CHECK(!answered(fd));
    CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
    unit_run_for(loop, 300);
    CHECK(answered(fd));
    close(fd);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    loop_t loop;
    CHECK(loop_init(&loop) == 0);
    int calls = 0;
    char err[256], out[1024];
    control_t *ctl = control_open(&loop, dir, handler, &calls, err, sizeof err);
    CHECK(ctl != NULL);
    if (!ctl) {
        fprintf(stderr, "%s\n", err);
        UNIT_DONE();
    }

    char *echo[] = {"echo", "a b", "c"};
    CHECK(call(&loop, 3, echo, NULL, out, sizeof out) == 0);
    CHECK_STR(out, "word 1: a b\nword 2: c\n");
    char *bad[] = {"nope"};
    CHECK(call(&loop, 1, bad, NULL, out, sizeof out) == 1);
    CHECK_STR(out, "unknown command 'nope' second line\n");
    /* Words the protocol would split or cut short are not sent. */
    char *tabbed[] = {"echo", "a\tb"}, *two_lines[] = {"echo", "x", "a\nb"};
    static const char *const names[] = {NULL, "ITEM"};
    CHECK(call(&loop, 2, tabbed, names, out, sizeof out) == 2);
    CHECK_STR(out, "gaelic echo: invalid ITEM 'a\tb' (it has a tab or a newline)\n");
    CHECK(call(&loop, 3, two_lines, NULL, out, sizeof out) == 2);
    CHECK_STR(out, "gaelic echo: invalid word 'a\nb' (it has a tab or a newline)\n");
    CHECK(calls == 2);
    test_clients_over_the_limit_wait(&loop);
    test_accept_retried_after_emfile(&loop);

    /* A second server on the same folder is refused while this one runs. */
    loop_t loop2;
    loop_init(&loop2);
    CHECK(control_open(&loop2, dir, handler, &calls, err, sizeof err) == NULL);
    CHECK(strstr(err, "another gaelic server") != NULL);
    loop_close(&loop2);

    struct stat st;
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, CONTROL_SOCKET);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 077) == 0);

    control_close(ctl);
    CHECK(stat(path, &st) < 0);
    /* Nobody listens now: the client says so. */
    CHECK(call(&loop, 3, echo, NULL, out, sizeof out) == 2);
    CHECK(strstr(out, "no gaelic server is running") != NULL);
    loop_close(&loop);
    rmdir(dir);
    UNIT_DONE();
}
