#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_channel.h"
#include "api_system.h"
#include "api_ticket.h"
#include "background_log.h"
#include "cgroup_mover.h"
#include "channel_rate.h"
#include "child_output.h"
#include "cpu_cap.h"
#include "instance_class.h"
#include "instance_stats.h"
#include "log.h"
#include "lost_requests.h"
#include "sandbox_linked.h"
#include "sandbox_mode.h"
#include "zygote_msg.h"
#include "zygote_proto.h"

/* I_WARMING: ready, but running its start request (a backend's
 * /_ah/start, the default version's /_ah/warmup) and taking no other. */
enum inst_state { I_STARTING, I_WARMING, I_READY, I_STOPPING, I_DEAD };

typedef struct {
    uint32_t id; /* 0: free */
    job_t *job;  /* NULL when the owner cancelled */
    /* The request's log id, kept here so lines logged after the client
     * went away are still stored with their request. */
    char log_id[32];
    /* RT7: fires at the request's deadline (IPC_DEADLINE is sent), then
     * again after the grace (the instance is killed). It runs even when
     * the owner cancelled: the instance still runs the request. */
    loop_timer_t deadline;
    int deadline_sent;
    instance_t *inst;
    /* Names the request to the HTTP API server while it runs. */
    api_ticket_t ticket;
    int background; /* a background request's (pool_submit_background) */
} slot_t;

struct instance {
    io_watch_t w; /* the channel; must stay first */
    pool_t *pool;
    enum inst_state state;
    uint32_t no;
    int index; /* numbered pools: 0..max_instances-1, else -1 */
    char id[33];
    pid_t pid;
    int pidfd;
    /* READY came before the instance was under its caps (before the
     * zygote's ZY_SPAWNED, or while the mover places it): it takes effect
     * once it is, so that no app code runs uncapped. */
    int ready_early;
    /* Started while another instance served: the default version's may
     * warm up before it serves (warms_up). */
    int beside_serving;
    /* Started for min_instances or min_idle_instances, not for a waiting
     * request: it warms up before it serves (warms_up). */
    int ahead;
    /* Stopping because it was idle (a dynamic backend's): a request for
     * its number waits for a new one rather than getting the 404 of a
     * shutdown (BK2, BK4). */
    int idled_out;
    int placing;        /* the mover has not yet reported its placement */
    uint32_t place_tag; /* that placement's (cgroup_placement_t.tag) */
    int inflight;
    int loaded; /* it was given a request (its first imports the app) */
    int stale;  /* holds what the app's files no longer say: stopped once ready */
    /* No word of how it ended is (still) to come: the zygote told it
     * (ZY_EXITED), or died. */
    int no_exit_report;
    /* RT7: its requests past their deadline, in their grace: it may be
     * killed at its end, so it takes no new request meanwhile. */
    int in_grace;
    int capacity; /* request slots; IPC_BACKGROUND_MAX more for background requests */
    int bg_requests;
    slot_t *slots; /* [capacity + IPC_BACKGROUND_MAX] */
    uint32_t next_id;
    buf_t rbuf, wbuf;
    int writable;
    /* Its frames wait unread while wbuf is over CHANNEL_HOLD_MARK; the
     * timer reads on once it is not, hung_up when there is no waiting. */
    int reads_held;
    int hung_up;
    loop_timer_t resume_reads;
    /* Its frames also wait past CHANNEL_FRAMES_PER_SECOND, said once. */
    channel_rate_t rate;
    int rate_told;
    uint64_t unwritable_ms; /* when its channel last filled with frames waiting */
    uint64_t last_active_ms;
    char last_log_id[32]; /* the request it answered last, for check_memory */
    uint64_t stop_deadline_ms;
    uint64_t started_ms;
    uint64_t ready_ms; /* 0 until it serves */
    instance_t *next;
    instance_t *next_dirty; /* on pool->dirty: has frames to write */
    int dirty;
    api_chan_t api;              /* API calls (API4) */
    inst_stats_t stats;          /* CPU and memory samples (API1, API2) */
    background_log_t background; /* its running background threads (BG3) */
    /* Its stdout and stderr; NULL: it shares the zygote's. Released to
     * the console when the instance is lost. */
    child_output_t *output;
    /* Its app log lines on the console (console_budget): the current
     * second's start and bytes shown, and the lines left out. */
    uint64_t console_window_ms;
    size_t console_shown;
    unsigned long console_dropped;
    size_t console_dropped_bytes;
    unsigned long console_dropped_total; /* by the server-wide budget */
    size_t console_dropped_total_bytes;
};

/* A spare being (or already) put into its cgroups. */
typedef struct {
    pid_t pid; /* 0: none */
    uint32_t tag;
    int placing;
    int uncapped; /* its placement failed: its instance tries again */
} spare_rec_t;

struct pool {
    loop_t *loop;
    pool_opts_t o;
    /* A spawn failed for want of descriptors: said once until one works,
     * since the pool retries every 250 ms while requests wait. */
    int spawn_fds_short;
    io_watch_t zy_w;
    pid_t zy_pid;
    uint64_t zy_started_ms;
    uint64_t zy_exit_by_ms; /* socket closed: killed if not gone by then */
    /* The zygote's stdout and stderr, its spares' too, for all its
     * restarts; NULL: the server's own (pool_opts_t.console). */
    child_output_t *zy_output;
    int zy_failures;            /* zygotes in a row lost young, before an instance came of them */
    uint64_t zy_retry_at_ms;    /* 0, or when the tick starts a zygote again after those */
    uint64_t zy_retry_delay_ms; /* doubles per such pause up to ZYGOTE_RETRY_MAX_MS */
    /* Pids of the instances the zygote forked and has not reported gone
     * (ZY_EXITED): their cgroups go with that report, so the pool is busy
     * until then; a zygote that dies takes its instances with it
     * (PR_SET_PDEATHSIG) and can no longer report them. */
    pid_t *zy_forked;
    size_t n_zy_forked, cap_zy_forked;
    /* Spares the zygote forked ahead (ZY_FORKED), put into their cgroups
     * while they wait, so that an instance made of one need not wait for
     * that (an isolated cgroup move takes 5-15 ms). The zygote keeps one
     * at a time and reports a spare gone before it forks the next. */
    spare_rec_t spare;
    uint32_t spare_seq;
    instance_t *instances;
    instance_t *graveyard;
    instance_t *dirty;    /* written at the end of the event batch */
    lost_requests_t lost; /* their logs get how the instance ended */
    int n_alive, n_starting;
    int start_failures; /* consecutive instances that died before READY */
    /* The default version starts no instance before start_retry_at_ms
     * while another serves (a pause after start_failures). */
    uint64_t start_retry_at_ms;
    uint64_t start_retry_delay_ms;
    job_t *q_head, *q_tail;
    int n_queued;
    int inflight;
    uint32_t next_no;
    int shutting_down;
    int stopped;               /* a backend in state STOP */
    uint64_t respawn_at_ms;    /* resident: lost instances start again then */
    uint64_t respawn_delay_ms; /* doubles per failure up to MAX_RESPAWN_DELAY_MS */
    loop_timer_t tick;
    loop_timer_t scale_timer; /* kick again when waiting requests may start one more */
    int eager_instances;      /* instances started as soon as requests wait */
    uint64_t pending_ms;      /* beyond those: min_pending_latency */
    uint64_t pending_max_ms;  /* and the wait after which one starts regardless */
    double wait_avg_ms;       /* recent waits for an instance (moving average) */
    int kicking;              /* kick() runs: a nested call only asks for another pass */
    int kick_again;
    int acct_mhz; /* megacycles per CPU second (pool.h cpu_cap) */
};

#define TICK_MS 250
/* An instance's runtime reads its channel within milliseconds whatever its
 * app does (a C thread reads while the workers run). One whose channel
 * takes nothing for this long, or leaves this much waiting, stopped
 * reading (a hostile app can point the reader elsewhere and keep writing
 * frames the master answers): it is killed before the master's memory
 * grows without bound. */
#define CHANNEL_STALL_MS 10000
#define CHANNEL_BACKLOG_MAX (1024u << 20)
/* Frames from an instance make the master write to it (API results, the
 * next request, background answers), a small call a big result. While more
 * than this waits for it to read, its frames are left unread: the master's
 * memory for an instance that reads a trickle stays near this mark instead
 * of growing to CHANNEL_BACKLOG_MAX (a runtime that reads keeps far below
 * it, but for a request body of that size, gone within milliseconds). */
#define CHANNEL_HOLD_MARK (16u << 20)
/* An instance's channel buffer larger than this is freed once empty. */
#define CHANNEL_KEEP_BUFFER (256u << 10)
/* min_pending_latency "automatic": instances start as soon as requests wait
 * while there is a CPU for each (one is the master's); beyond that, one at a
 * time, for a request that has waited AUTO_PENDING_MS when recent requests
 * also waited that long on average, or for one that has waited
 * AUTO_PENDING_MAX_MS. Instances beyond the CPUs only take turns on them:
 * with a CPU-bound hello world on 2 CPUs, 4 instances served no more
 * requests than 1 and had 4-8 times its 99th-percentile latency. Requests
 * that block (sleep, I/O) keep waiting longer and still scale out within
 * milliseconds; the average keeps a single stall of this busy machine (10-30
 * ms happen) from starting instances. */
#define AUTO_PENDING_MS 10
#define AUTO_PENDING_MAX_MS 100
/* Weight of each new wait in wait_avg_ms. */
#define WAIT_AVG_WEIGHT (1.0 / 32)
/* An instance only forks and loads the runtime before READY (app code is
 * imported by its first request), so this is generous. */
#define START_TIMEOUT_MS 30000
#define MAX_START_FAILURES 3
#define MAX_RESPAWN_DELAY_MS 10000
/* A resident or kept instance lost sooner than this after it became ready
 * crashed where it serves: the next one waits the growing delay too, lest
 * an app that dies as it settles be restarted four times a second. */
#define RESPAWN_STABLE_MS 10000
/* After MAX_START_FAILURES instances in a row died as they started beside
 * one that serves, the next waits this long, doubling per further loss up
 * to MAX_RESPAWN_DELAY_MS. */
#define START_RETRY_MIN_MS 500
/* A zygote lost MAX_START_FAILURES times in a row is started again after
 * a pause that grows from the first to the second, never given up. */
#define ZYGOTE_RETRY_MIN_MS 1000
#define ZYGOTE_RETRY_MAX_MS 60000
/* A zygote that lived this long had come up (its start and preload take
 * well under a second): lost later, it starts a new count. An idle
 * server's zygote makes no instance, and one killed now and then must not
 * be taken for one that keeps dying as it starts. */
#define ZYGOTE_HEALTHY_MS 3000
/* A zygote whose socket is closed kills its children and exits, in a few
 * milliseconds; one still there after this long is killed. */
#define ZYGOTE_EXIT_MS 2000
/* The runtime's own threads in an instance besides its request workers:
 * the main thread, the channel reader, up to 10 background requests, and
 * room to spare. */
#define RUNTIME_THREADS 16

static void kick(pool_t *pool);
static void instance_ready(instance_t *inst);
static void restart_preloaded(pool_t *pool, uint32_t last);
static void restart_instance(instance_t *inst);
static void instance_fail(instance_t *inst, const char *why);
static void slot_deadline(loop_t *loop, loop_timer_t *t);
static void sample_stats(instance_t *inst, uint64_t now);
static int instance_read_last_frames(instance_t *inst);
static int keeps_instances(const pool_t *pool);
static void request_log_critical(const pool_t *pool, const char *log_id, const char *text);

/* ---------- queue ---------- */

static void queue_push(pool_t *pool, job_t *job)
{
    job->next = NULL;
    job->prev = pool->q_tail;
    if (pool->q_tail)
        pool->q_tail->next = job;
    else
        pool->q_head = job;
    pool->q_tail = job;
    job->queued = 1;
    pool->n_queued++;
}

/* The job leaves the queue (for an instance, or answered without one):
 * its wait goes to its request log. */
static void note_wait(const pool_t *pool, job_t *job)
{
    job->log.pending_us = (int64_t)(pool->loop->now_us - job->queued_us);
}

static void queue_remove(pool_t *pool, job_t *job)
{
    note_wait(pool, job);
    if (job->prev)
        job->prev->next = job->next;
    else
        pool->q_head = job->next;
    if (job->next)
        job->next->prev = job->prev;
    else
        pool->q_tail = job->prev;
    job->next = job->prev = NULL;
    job->queued = 0;
    pool->n_queued--;
}

/* answered: the instance's answer to a request that fails all the same
 * (past its deadline, too large), whose CPU still goes to its request log
 * (RT9); NULL when there is none. */
static void job_end_cpu(job_t *job, int status, int timed_out, const char *reason,
                        const char *instance_id, const job_result_t *answered)
{
    job_result_t res;
    memset(&res, 0, sizeof res);
    res.error_status = status;
    res.timed_out = timed_out;
    res.error_reason = reason;
    res.instance_id = instance_id;
    if (answered) {
        res.cpu_us = answered->cpu_us;
        res.cpu_mhz = answered->cpu_mhz;
    }
    job->inst = NULL;
    job->done(job, &res);
}

static void job_end(job_t *job, int status, int timed_out, const char *reason,
                    const char *instance_id)
{
    job_end_cpu(job, status, timed_out, reason, instance_id, NULL);
}

static void request_log_line(const pool_t *pool, const char *log_id, int level, const char *text,
                             size_t len);

/* instance_id: the instance that had the job, else NULL. A server error
 * no instance answered (the queue full, no instance free in time, none
 * can start) says why in the request's own log, as a lost instance's
 * does (instance_fail): the developer reads that log, not the console. */
static void job_fail(job_t *job, int status, const char *reason, const char *instance_id)
{
    if (status >= 500 && !instance_id && job->pool) {
        char line[200];
        int n = snprintf(line, sizeof line, "no instance served this request: %s", reason);
        if (n > 0)
            request_log_line(job->pool, job->log_id, LOG_CRITICAL, line,
                             (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    job_end(job, status, 0, reason, instance_id);
}

/* Answers every queued job with status. */
static void fail_queued(pool_t *pool, int status, const char *reason)
{
    while (pool->q_head) {
        job_t *job = pool->q_head;
        queue_remove(pool, job);
        job_fail(job, status, reason, NULL);
    }
}

/* ---------- zygote ---------- */

static void zygote_event(loop_t *loop, io_watch_t *w, uint32_t events);
static void placed(const cgroup_placement_t *p);
static void release_spare(pool_t *pool);
static void release_caps(pool_t *pool, pid_t pid, int zygote);

/* The zygote reads nothing (an instance must not read the keys typed at
 * the server's terminal) and writes to the console through the master. */
static int spawn_standard_fds(const pool_t *pool, posix_spawn_file_actions_t *fa)
{
    int err = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
    if (!err && pool->zy_output) {
        int out = child_output_fd(pool->zy_output);
        if (!(err = posix_spawn_file_actions_adddup2(fa, out, 1)))
            err = posix_spawn_file_actions_adddup2(fa, out, 2);
    }
    return err;
}

static int zygote_spawn(pool_t *pool)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        log_error("zygote: socketpair: %s", strerror(errno));
        return -1;
    }
    char threads[16];
    snprintf(threads, sizeof threads, "%d", pool->o.threads);
    /* Options left zero get the sandbox's defaults, never a weaker one. */
    char memory[32];
    snprintf(memory, sizeof memory, "%llu",
             pool->o.instance_memory ? (unsigned long long)pool->o.instance_memory
                                     : SANDBOX_DEFAULT_MEMORY);
    char *argv[32 + 2 * SANDBOX_LINKED_MAX];
    int argc = 0;
    argv[argc++] = "gaelic-instance";
    argv[argc++] = "--app";
    argv[argc++] = (char *)pool->o.app_root;
    argv[argc++] = "--python";
    argv[argc++] = (char *)pool->o.python_dir;
    argv[argc++] = "--threads";
    argv[argc++] = threads;
    argv[argc++] = "--fd";
    argv[argc++] = "3";
    argv[argc++] = "--sandbox";
    argv[argc++] = (char *)(pool->o.sandbox ? pool->o.sandbox : "strict");
    argv[argc++] = "--memory";
    argv[argc++] = memory;
    argv[argc++] = "--audit-hook";
    argv[argc++] = pool->o.audit_hook ? "on" : "off";
    char mhz[16];
    snprintf(mhz, sizeof mhz, "%d", pool->acct_mhz);
    argv[argc++] = "--cpu-mhz";
    argv[argc++] = mhz;
    /* So that an instance refuses an oversized response before building
     * its frame; the master still checks what arrives. */
    char max_body[32], max_head[32];
    snprintf(max_body, sizeof max_body, "%zu", pool->o.max_response_bytes);
    snprintf(max_head, sizeof max_head, "%zu", pool->o.max_response_header_bytes);
    argv[argc++] = "--max-response";
    argv[argc++] = max_body;
    argv[argc++] = "--max-response-headers";
    argv[argc++] = max_head;
    if (pool->o.library_modules && *pool->o.library_modules) {
        argv[argc++] = "--library-modules";
        argv[argc++] = (char *)pool->o.library_modules;
    }
    if (pool->o.skip_files && *pool->o.skip_files) {
        argv[argc++] = "--skip-files";
        argv[argc++] = (char *)pool->o.skip_files;
    }
    if (pool->o.static_only_files) {
        argv[argc++] = "--static-only-files";
        argv[argc++] = (char *)pool->o.static_only_files;
    }
    if (pool->o.import_path) {
        argv[argc++] = "--import-path";
        argv[argc++] = (char *)pool->o.import_path;
    }
    for (size_t i = 0; pool->o.linked && pool->o.linked[i] && i < SANDBOX_LINKED_MAX; i++) {
        argv[argc++] = "--linked";
        argv[argc++] = (char *)pool->o.linked[i];
    }
    argv[argc] = NULL;
    /* Instances get a small, fixed environment: the app's own variables
     * arrive per request (RT8). Sanitizer settings pass through for tests;
     * the runtime takes GAELIC_BACKENDS out before app code runs. */
    char *envp[12];
    int n = 0;
    envp[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    envp[n++] = "LANG=C.UTF-8";
    /* App Engine's instances ran in UTC (apps store datetime.now() as UTC),
     * whatever the zone of the machine serving them. */
    envp[n++] = "TZ=UTC";
    if (pool->o.backends_env && *pool->o.backends_env)
        envp[n++] = (char *)pool->o.backends_env;
    /* Where the SDK's DefaultApiStub would find the HTTP API server. */
    char api_host[300], api_port[32];
    if (pool->o.api_host) {
        snprintf(api_host, sizeof api_host, "API_HOST=%s", pool->o.api_host);
        snprintf(api_port, sizeof api_port, "API_PORT=%d", pool->o.api_port);
        envp[n++] = api_host;
        envp[n++] = api_port;
    }
    static const char *const pass[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    static char passbuf[3][512];
    for (size_t i = 0; i < 3; i++) {
        const char *v = getenv(pass[i]);
        if (v && strlen(v) < 400) {
            /* CPython leaves its memory to the exit: leak checks are for
             * the master only. */
            snprintf(passbuf[i], sizeof passbuf[i], "%s=%s%s", pass[i], v,
                     i == 0 ? ":detect_leaks=0" : "");
            envp[n++] = passbuf[i];
        }
#ifdef __SANITIZE_ADDRESS__
        /* Without ASAN_OPTIONS, leak checks are on by default in an ASan
         * build: each zygote would report CPython's memory at its exit. */
        else if (i == 0) {
            envp[n++] = "ASAN_OPTIONS=detect_leaks=0";
        }
#endif
    }
    envp[n] = NULL;

    /* posix_spawn (vfork underneath): the zygote starts without copying the
     * master's page tables, about a millisecond sooner on every launch.
     * It runs with no signal blocked (the master blocks SIGINT/SIGTERM for
     * its signalfd) and in its own session, so a Ctrl-C at the terminal
     * reaches only the master, which stops instances itself after requests
     * finish. */
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    sigset_t none;
    sigemptyset(&none);
    pid_t pid = -1;
    int err = posix_spawnattr_init(&attr);
    if (!err) {
        err = posix_spawn_file_actions_init(&fa);
        if (!err) {
            if (!(err = posix_spawnattr_setsigmask(&attr, &none)) &&
                !(err = posix_spawnattr_setflags(&attr,
                                                 POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID)) &&
                !(err = posix_spawn_file_actions_adddup2(&fa, sv[1], 3)) &&
                !(err = spawn_standard_fds(pool, &fa)))
                err = posix_spawn(&pid, pool->o.exe, &fa, &attr, argv, envp);
            posix_spawn_file_actions_destroy(&fa);
        }
        posix_spawnattr_destroy(&attr);
    }
    if (err) {
        log_error("zygote: cannot start %s: %s", pool->o.exe, strerror(err));
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    close(sv[1]);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    pool->zy_w.fd = sv[0];
    pool->zy_w.cb = zygote_event;
    pool->zy_pid = pid;
    /* Instances are born in its cgroup, and each is moved into one of its
     * own before any app code runs (placed). */
    if (pool->o.mover && cgroup_mover_place_zygote(pool->o.mover, pool, placed, pid) < 0)
        log_warn("zygote: cannot cap its threads: %s", strerror(errno));
    pool->zy_started_ms = pool->loop->now_ms;
    if (loop_add(pool->loop, &pool->zy_w, EPOLLIN | EPOLLRDHUP) < 0) {
        log_error("zygote: epoll: %s", strerror(errno));
        /* Unheard, it would serve nobody: it goes, and the pool has none. */
        close(sv[0]);
        pool->zy_w.fd = -1;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        release_caps(pool, pid, 1);
        pool->zy_pid = 0;
        return -1;
    }
    log_debug("zygote started (pid %d)", (int)pid);
    return 0;
}

/* pid's cpu and pids cgroups go: it has exited, or is being killed. */
static void release_caps(pool_t *pool, pid_t pid, int zygote)
{
    if (pool->o.mover)
        cgroup_mover_release(pool->o.mover, pid, zygote);
}

/* The zygote forked pid (ZY_SPAWNED); without memory to note it, its
 * cgroups may stay until the server stops (should the pool be freed or the
 * zygote die before the report of its exit). */
static void note_forked(pool_t *pool, pid_t pid)
{
    if (pool->n_zy_forked == pool->cap_zy_forked) {
        size_t cap = pool->cap_zy_forked ? 2 * pool->cap_zy_forked : 16;
        pid_t *grown = realloc(pool->zy_forked, cap * sizeof *grown);
        if (!grown)
            return;
        pool->zy_forked = grown;
        pool->cap_zy_forked = cap;
    }
    pool->zy_forked[pool->n_zy_forked++] = pid;
}

/* The zygote reported pid's exit (ZY_EXITED). */
static void note_exited(pool_t *pool, pid_t pid)
{
    for (size_t i = 0; i < pool->n_zy_forked; i++)
        if (pool->zy_forked[i] == pid) {
            pool->zy_forked[i] = pool->zy_forked[--pool->n_zy_forked];
            break;
        }
    release_caps(pool, pid, 0);
}

/* How console and log lines name a pool's zygote: "zygote", or "backend
 * memdb zygote" for a backend's, so that no two zygotes read alike. */
static const char *zygote_label(const pool_t *pool, char *out, size_t n)
{
    snprintf(out, n, "%s%szygote", pool->o.name ? pool->o.name : "", pool->o.name ? " " : "");
    return out;
}

/* The tick starts a zygote again after a pause; requests get 500 at once
 * meanwhile (pool_submit). */
static void zygote_retry_later(pool_t *pool)
{
    char who[128];
    pool->zy_retry_delay_ms =
        pool->zy_retry_delay_ms ? 2 * pool->zy_retry_delay_ms : ZYGOTE_RETRY_MIN_MS;
    if (pool->zy_retry_delay_ms > ZYGOTE_RETRY_MAX_MS)
        pool->zy_retry_delay_ms = ZYGOTE_RETRY_MAX_MS;
    pool->zy_retry_at_ms = pool->loop->now_ms + pool->zy_retry_delay_ms;
    log_error("%s keeps failing; requests get 500 until it starts again (next try in %llu s)",
              zygote_label(pool, who, sizeof who),
              (unsigned long long)(pool->zy_retry_delay_ms / 1000));
    /* Its instances went with it: nothing can serve what waits either. */
    fail_queued(pool, 500, "no instance can be started (the zygote is down)");
}

static void zygote_lost(pool_t *pool)
{
    loop_del(pool->loop, &pool->zy_w);
    close(pool->zy_w.fd);
    pool->zy_w.fd = -1;
    int status = 0;
    char who[128];
    if (pool->zy_pid > 0 && waitpid(pool->zy_pid, &status, 0) == pool->zy_pid) {
        if (WIFSIGNALED(status))
            log_error("%s (pid %d) was killed by signal %d", zygote_label(pool, who, sizeof who),
                      (int)pool->zy_pid, WTERMSIG(status));
        else if (!pool->shutting_down)
            log_error("%s (pid %d) exited with status %d", zygote_label(pool, who, sizeof who),
                      (int)pool->zy_pid, WEXITSTATUS(status));
    }
    if (pool->zy_pid > 0)
        release_caps(pool, pool->zy_pid, 1);
    pool->zy_pid = 0;
    /* No report can come any more; its instances die with it, and the
     * cgroups the kernel still counts them in go at a later removal
     * (cgroup_tree_remove). */
    for (size_t i = 0; i < pool->n_zy_forked; i++)
        release_caps(pool, pool->zy_forked[i], 0);
    pool->n_zy_forked = 0;
    release_spare(pool);
    /* Nor will how its instances ended: requests lost with them keep what
     * their logs said, and a later instance given one of their pids is not
     * taken for them. */
    lost_requests_forget(&pool->lost);
    for (instance_t *i = pool->instances; i; i = i->next)
        i->no_exit_report = 1;
    /* Every instance dies with it (PR_SET_PDEATHSIG); a serving one goes
     * when its channel closes, failing what it ran, as any crash does.
     * Those not yet reported as spawned can never be, and those still
     * starting go now, and not as start failures of their own, which would
     * fail the requests waiting for them instead of leaving those to the
     * next zygote's instances (the zygote's own losses are counted below). */
    for (instance_t *i = pool->instances, *next; i; i = next) {
        next = i->next; /* instance_fail moves i to the graveyard */
        if (i->state != I_DEAD && (i->pid == 0 || i->state == I_STARTING || i->state == I_WARMING))
            instance_fail(i,
                          i->pid == 0 ? "the zygote died before starting it" : "its zygote died");
    }
    if (pool->shutting_down)
        return;
    if (pool->loop->now_ms - pool->zy_started_ms >= ZYGOTE_HEALTHY_MS) {
        pool->zy_failures = 0;
        pool->zy_retry_delay_ms = 0;
    }
    pool->zy_failures++;
    if (pool->zy_failures > MAX_START_FAILURES) {
        /* Not in a loop (one that cannot start would spin), but not for
         * good either: a zygote killed from outside again and again must
         * not leave the server answering 500 until it is restarted. */
        zygote_retry_later(pool);
        return;
    }
    if (zygote_spawn(pool) < 0)
        zygote_retry_later(pool);
    else
        kick(pool); /* what waits asks the new zygote for instances now */
}

/* pids.max of an instance's cgroup: what the app may start, plus the
 * runtime's own threads. */
static int instance_max_tasks(const pool_t *pool)
{
    return pool->o.app_threads + pool->o.threads + RUNTIME_THREADS;
}

/* Tags of spares' placements have this bit set; instance numbers (the
 * tags of the others) never do, and 0 is the zygote's. */
#define SPARE_TAG_BIT 0x80000000u

static int place(pool_t *pool, uint32_t tag, pid_t pid)
{
    return cgroup_mover_place(pool->o.mover, pool, placed, tag, pid,
                              pool->o.cpu_cap ? pool->o.cpu_mhz : 0, instance_max_tasks(pool));
}

static spare_rec_t *spare_rec(pool_t *pool, pid_t pid)
{
    return pid > 0 && pool->spare.pid == pid ? &pool->spare : NULL;
}

/* The spare's cgroups go: it or its zygote is gone or going (the zygote
 * takes it along); what the kernel still counts goes at a later removal. */
static void release_spare(pool_t *pool)
{
    if (pool->spare.pid > 0) {
        release_caps(pool, pool->spare.pid, 0);
        pool->spare.pid = 0;
    }
}

/* ZY_FORKED: the spare goes into its cgroups now, while it waits. */
static void spare_forked(pool_t *pool, pid_t pid)
{
    if (!pool->o.mover || pid <= 0)
        return;
    release_spare(pool); /* the zygote said it was gone; not seen */
    uint32_t tag = SPARE_TAG_BIT | (++pool->spare_seq & ~SPARE_TAG_BIT);
    if (place(pool, tag, pid) == 0)
        pool->spare = (spare_rec_t){.pid = pid, .tag = tag, .placing = 1};
}

/* inst is gone or going: its output is shown until its pipe ends, by
 * then with nobody else's. */
static void release_output(instance_t *inst)
{
    if (inst->output) {
        child_output_release(inst->output);
        inst->output = NULL;
    }
}

/* How console lines from an instance (app log lines, its stdout and
 * stderr) name it: "[backend memdb instance 1]" for a backend's,
 * "[instance 7]" for the default version's, so that the two never read
 * alike. */
static const char *console_tag(const instance_t *inst, char *out, size_t n)
{
    if (inst->index >= 0)
        snprintf(out, n, "%s instance %d", inst->pool->o.name ? inst->pool->o.name : "backend",
                 inst->index);
    else
        snprintf(out, n, "instance %u", inst->no);
    return out;
}

/* App log lines shown on the console per second and instance at most, as
 * for its stdout and stderr (child_output.h): an app logging warnings in a
 * loop must not fill a console log file. The rest are only stored. A line
 * costs its text (at most what log_safe_lines shows) and the prefix. */
#define APP_CONSOLE_BYTES_PER_SECOND (256 * 1024)
#define APP_CONSOLE_MESSAGE_MAX 65536
#define APP_CONSOLE_LINE_OVERHEAD 64

/* Says how many app log lines the budget left out, if any. */
static void report_console_dropped(instance_t *inst)
{
    if (!inst->console_dropped && !inst->console_dropped_total)
        return;
    char tag[128];
    console_tag(inst, tag, sizeof tag);
    if (inst->console_dropped)
        log_warn("%s logged more than %d KiB a second for the console: %lu app log lines (%zu "
                 "bytes) not shown (those of requests are in the request logs)",
                 tag, APP_CONSOLE_BYTES_PER_SECOND / 1024, inst->console_dropped,
                 inst->console_dropped_bytes);
    if (inst->console_dropped_total)
        log_warn("%s: %lu app log lines (%zu bytes) not shown: instances and zygotes together "
                 "wrote more than the console's server-wide budget (those of requests are in "
                 "the request logs)",
                 tag, inst->console_dropped_total, inst->console_dropped_total_bytes);
    inst->console_dropped = inst->console_dropped_total = 0;
    inst->console_dropped_bytes = inst->console_dropped_total_bytes = 0;
}

/* Whether an app log line of n bytes may go on the console now. */
static int console_budget(instance_t *inst, size_t n)
{
    uint64_t now = inst->pool->loop->now_ms;
    if (now - inst->console_window_ms >= 1000) {
        report_console_dropped(inst);
        inst->console_window_ms = now;
        inst->console_shown = 0;
    }
    size_t cost =
        (n < APP_CONSOLE_MESSAGE_MAX ? n : APP_CONSOLE_MESSAGE_MAX) + APP_CONSOLE_LINE_OVERHEAD;
    if (inst->console_shown + cost > APP_CONSOLE_BYTES_PER_SECOND) {
        inst->console_dropped++;
        inst->console_dropped_bytes += n;
        return 0;
    }
    /* Many instances together get what their stdout and stderr get. */
    pool_t *pool = inst->pool;
    if (pool->o.console && !child_console_take(pool->o.console, inst->console_shown, cost)) {
        inst->console_dropped_total++;
        inst->console_dropped_total_bytes += n;
        return 0;
    }
    inst->console_shown += cost;
    return 1;
}

/* How log lines name an instance: as console_tag, with the default
 * version's instance id: "instance 7 (<id>)". */
static const char *label(const instance_t *inst, char *out, size_t n)
{
    if (inst->index >= 0)
        return console_tag(inst, out, n);
    snprintf(out, n, "instance %u (%s)", inst->no, inst->id);
    return out;
}

/* Its INSTANCE_ID in a request's environ: a backend instance's number
 * (BK7), else the unique id (number has room for 16 bytes). */
static const char *env_instance_id(const instance_t *inst, char *number)
{
    if (inst->index < 0)
        return inst->id;
    snprintf(number, 16, "%d", inst->index);
    return number;
}

/* The GAE_INSTANCE pair of pool_opts_t.gae_instance: the unique id, also
 * on a backend, whose INSTANCE_ID is its number. */
static int put_gae_instance(buf_t *b, const instance_t *inst)
{
    return ipc_put_bytes(b, "GAE_INSTANCE", 12) < 0 ||
                   ipc_put_bytes(b, inst->id, strlen(inst->id)) < 0
               ? -1
               : 0;
}

/* For the request logs of its background threads: the instance named as
 * in the logs of the requests it serves (its unique id; a backend's number
 * is the replica index). */
static background_log_ctx_t background_ctx(const instance_t *inst)
{
    background_log_ctx_t ctx = {inst->pool->o.logs,
                                inst->pool->o.version_id,
                                inst->pool->o.module_id,
                                inst->id,
                                inst->index,
                                ""};
    if (inst->pool->o.log_host && inst->index >= 0)
        snprintf(ctx.host, sizeof ctx.host, "%d.%s", inst->index, inst->pool->o.log_host);
    return ctx;
}

static instance_t *instance_by_no(pool_t *pool, uint32_t no)
{
    for (instance_t *i = pool->instances; i; i = i->next)
        if (i->no == no)
            return i;
    return NULL;
}

/* The instance is under its caps (or could not be put there): a READY
 * that came before takes effect now. */
static void ready_if_early(instance_t *inst)
{
    if (inst->ready_early) {
        inst->ready_early = 0;
        instance_ready(inst);
        kick(inst->pool);
    }
}

/* ESRCH: the process is gone, nothing to cap. */
static void warn_uncapped(const char *who, const cgroup_placement_t *p)
{
    if (p->cpu_err && p->cpu_err != ESRCH)
        log_warn("%s: cannot cap its CPU: %s", who, strerror(p->cpu_err));
    if (p->thread_err && p->thread_err != ESRCH)
        log_warn("%s: cannot cap its threads: %s", who, strerror(p->thread_err));
}

/* The mover's report (cgroup_mover.h): for the zygote, a spare, or an
 * instance (which may have been that spare). */
static void placed(const cgroup_placement_t *p)
{
    pool_t *pool = p->owner;
    char who[128];
    if (p->tag == 0) {
        warn_uncapped(zygote_label(pool, who, sizeof who), p);
        return;
    }
    instance_t *inst = pool->instances;
    while (inst && !(inst->placing && inst->place_tag == p->tag && inst->pid == p->pid))
        inst = inst->next;
    if (!inst) {
        spare_rec_t *rec = spare_rec(pool, p->pid);
        if (rec && rec->tag == p->tag) {
            rec->placing = 0;
            rec->uncapped = p->cpu_err || p->thread_err;
            snprintf(who, sizeof who, "spare instance (pid %d)", (int)p->pid);
            warn_uncapped(who, p);
        }
        return; /* or gone meanwhile */
    }
    inst->placing = 0;
    snprintf(who, sizeof who, "instance %u", inst->no);
    warn_uncapped(who, p);
    if (inst->state != I_DEAD)
        ready_if_early(inst);
}

static void describe_exit(int status, char *out, size_t n)
{
    if (WIFSIGNALED(status))
        snprintf(out, n, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(out, n, "exited with status %d", WEXITSTATUS(status));
}

typedef struct {
    const pool_t *pool;
    const char *how; /* describe_exit's */
    int signaled;
} exit_note_t;

/* The request failed when its instance's channel closed, before the zygote
 * told how the instance ended: its log gets that now. */
static void note_exit_in_request_log(void *ctx, const char *log_id)
{
    const exit_note_t *n = ctx;
    char line[160];
    snprintf(line, sizeof line, "the instance that served this request %s%s",
             n->signaled ? "was " : "", n->how);
    request_log_critical(n->pool, log_id, line);
}

static void zygote_event(loop_t *loop, io_watch_t *w, uint32_t events)
{
    (void)loop;
    pool_t *pool = (pool_t *)((char *)w - offsetof(pool_t, zy_w));
    for (;;) {
        zy_msg_t msg;
        char cbuf[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {.iov_base = &msg, .iov_len = sizeof msg};
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
        ssize_t n = recvmsg(w->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n <= 0) {
            zygote_lost(pool);
            return;
        }
        int fd = -1;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
        if ((size_t)n != sizeof msg) {
            if (fd >= 0)
                close(fd);
            continue;
        }
        if (msg.type == ZY_FORKED) {
            if (fd >= 0)
                close(fd);
            spare_forked(pool, msg.pid);
            continue;
        }
        if (msg.type == ZY_EXITED && msg.instance_no == 0) {
            /* A spare that never became an instance. */
            if (fd >= 0)
                close(fd);
            spare_rec_t *rec = msg.pid > 0 ? spare_rec(pool, msg.pid) : NULL;
            if (rec) {
                rec->pid = 0;
                release_caps(pool, msg.pid, 0);
            }
            continue;
        }
        if (msg.type == ZY_APP_CHANGED) {
            if (fd >= 0)
                close(fd);
            if (msg.status == 1)
                restart_preloaded(pool, msg.instance_no);
            continue;
        }
        instance_t *inst = instance_by_no(pool, msg.instance_no);
        if (msg.type == ZY_SPAWNED) {
            /* Made of a spare: it may be in its cgroups already. */
            spare_rec_t spare = {0}, *rec = msg.pid > 0 ? spare_rec(pool, msg.pid) : NULL;
            if (rec) {
                spare = *rec;
                rec->pid = 0;
            }
            if (msg.pid > 0 && msg.status == 0)
                note_forked(pool, msg.pid);
            if (!inst || inst->state == I_DEAD) {
                if (fd >= 0) {
                    syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
                    close(fd);
                }
                continue;
            }
            if (msg.pid <= 0 || msg.status != 0) {
                if (fd >= 0)
                    close(fd);
                instance_fail(inst, "the zygote could not fork it");
                continue;
            }
            inst->pid = msg.pid;
            inst->pidfd = fd;
            /* Its figures start here, before any app code runs: the tick's
             * first sample may come after its first request has burned CPU
             * (API6), and until then the rates read 0. */
            sample_stats(inst, pool->loop->now_ms);
            pool->zy_failures = 0;
            pool->zy_retry_delay_ms = 0;
            if (spare.pid && !spare.uncapped) {
                inst->placing = spare.placing;
                inst->place_tag = spare.tag;
            } else if (pool->o.mover) {
                inst->place_tag = inst->no;
                inst->placing = place(pool, inst->no, msg.pid) == 0;
                if (!inst->placing)
                    log_warn("instance %u: cannot cap it: %s", inst->no, strerror(errno));
            }
            if (!inst->placing)
                ready_if_early(inst);
            if (inst->state == I_STOPPING && inst->inflight == 0 && fd >= 0)
                syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
        } else if (msg.type == ZY_EXITED) {
            if (fd >= 0)
                close(fd);
            note_exited(pool, msg.pid);
            /* Its last words (a traceback, a sanitizer's report) before
             * the line that says it is gone. */
            if (inst && inst->pid == msg.pid)
                release_output(inst);
            char how[96];
            describe_exit(msg.status, how, sizeof how);
            int clean = WIFEXITED(msg.status) && WEXITSTATUS(msg.status) == 0;
            char name[160];
            if (inst)
                label(inst, name, sizeof name);
            else
                snprintf(name, sizeof name, "instance %u", msg.instance_no);
            if (clean)
                log_debug("%s (pid %d) %s", name, msg.pid, how);
            else
                log_warn("%s (pid %d) %s", name, msg.pid, how);
            if (inst && inst->pid == msg.pid && inst->state != I_DEAD &&
                instance_read_last_frames(inst) == 0 && inst->state != I_DEAD) {
                char why[128];
                snprintf(why, sizeof why, "the instance %s%s",
                         WIFSIGNALED(msg.status) ? "was " : "", how);
                inst->no_exit_report = 1;
                instance_fail(inst, why);
            }
            exit_note_t note = {pool, how, WIFSIGNALED(msg.status)};
            lost_requests_take(&pool->lost, msg.pid, note_exit_in_request_log, &note);
        } else if (fd >= 0) {
            close(fd);
        }
    }
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        zygote_lost(pool);
}

/* ---------- instances ---------- */

static void instance_event(loop_t *loop, io_watch_t *w, uint32_t events);
static void resume_reads(loop_t *loop, loop_timer_t *t);

/* Frees a busy slot (its deadline timer too); returns its job, NULL when
 * the owner cancelled. */
static job_t *slot_release(slot_t *slot)
{
    instance_t *inst = slot->inst;
    job_t *job = slot->job;
    loop_timer_stop(inst->pool->loop, &slot->deadline);
    if (inst->pool->o.tickets)
        api_tickets_revoke(inst->pool->o.tickets, &slot->ticket);
    slot->id = 0;
    slot->job = NULL;
    if (slot->deadline_sent) {
        slot->deadline_sent = 0;
        inst->in_grace--;
    }
    if (slot->background) {
        slot->background = 0;
        inst->bg_requests--;
    } else {
        inst->inflight--;
        inst->pool->inflight--;
    }
    return job;
}

/* Frames were queued in inst->wbuf: written at the end of the event batch,
 * one write per instance however many frames the batch queued. */
static void mark_dirty(instance_t *inst)
{
    if (!inst->dirty) {
        inst->dirty = 1;
        inst->next_dirty = inst->pool->dirty;
        inst->pool->dirty = inst;
    }
}

/* Queues a frame without payload (IPC_SHUTDOWN, IPC_DEADLINE,
 * IPC_BACKGROUND_REFUSED) in inst->wbuf. 0, or -1 when memory runs out. */
static int put_empty_frame(instance_t *inst, uint16_t type, uint32_t id)
{
    long start = ipc_begin_frame(&inst->wbuf, type, id);
    return start < 0 ? -1 : ipc_end_frame(&inst->wbuf, start);
}

static void make_instance_id(char out[33])
{
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        uint64_t t = loop_clock_ms() ^ (uint64_t)getpid() << 32;
        memcpy(r, &t, 8);
        memcpy(r + 8, &t, 8);
    }
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* ---------- API channel and statistics ---------- */

static slot_t *slot_find(instance_t *inst, uint32_t id);

static void api_wake(void *owner)
{
    mark_dirty(owner);
}

/* The log id of a running request, or of a background thread (BG3). */
static const char *api_log_id(void *owner, uint32_t request)
{
    instance_t *inst = owner;
    if (request & IPC_BACKGROUND_ID_BIT) {
        const char *id = background_log_id(&inst->background, request);
        return id ? id : "";
    }
    const slot_t *slot = slot_find(inst, request);
    return slot ? slot->log_id : "";
}

/* logservice Flush from request `request`: its owner writes its log row
 * now, unfinished. A background thread's row exists from its start. */
static void api_flush(void *owner, uint32_t request)
{
    instance_t *inst = owner;
    if (request & IPC_BACKGROUND_ID_BIT)
        return;
    slot_t *slot = slot_find(inst, request);
    if (slot && slot->job && slot->job->flushed)
        slot->job->flushed(slot->job, inst->id);
}

/* A call through the HTTP API server with the ticket of the request in
 * `target` (a slot) counts as a call of that request's instance. */
static void caller_of(const instance_t *inst, uint32_t request, const char *log_id,
                      api_caller_t *caller)
{
    *caller = inst->api.caller;
    caller->pid = inst->pid;
    caller->request = request;
    caller->log_id = log_id;
}

static void ticket_caller(void *target, api_caller_t *caller)
{
    const slot_t *slot = target;
    caller_of(slot->inst, slot->id, slot->log_id, caller);
}

static void charge_cpu(instance_t *inst, uint32_t request, uint32_t cpu_us)
{
    size_t mark = inst->wbuf.len;
    long start = ipc_begin_frame(&inst->wbuf, IPC_API_CPU, request);
    if (start < 0 || ipc_put_u32(&inst->wbuf, cpu_us) < 0 || ipc_end_frame(&inst->wbuf, start) < 0)
        inst->wbuf.len = mark; /* out of memory: the figure is lost, nothing else */
    else
        mark_dirty(inst);
}

/* ... and its CPU goes to that request: IPC_API_CPU (ipc.h). A live ticket's
 * instance is alive: instance_fail revokes the tickets of its slots. */
static void ticket_charge(void *target, uint32_t cpu_us)
{
    const slot_t *slot = target;
    charge_cpu(slot->inst, slot->id, cpu_us);
}

static const api_ticket_ops_t TICKET_OPS = {ticket_caller, ticket_charge};

/* The same for a background thread's ticket (BG3), named by its entry. */
static void bg_ticket_caller(void *target, api_caller_t *caller)
{
    const background_entry_t *e = target;
    caller_of(e->owner, e->id, e->log_id, caller);
}

static void bg_ticket_charge(void *target, uint32_t cpu_us)
{
    const background_entry_t *e = target;
    charge_cpu(e->owner, e->id, cpu_us);
}

static const api_ticket_ops_t BG_TICKET_OPS = {bg_ticket_caller, bg_ticket_charge};

static void revoke_background_ticket(instance_t *inst, background_entry_t *e)
{
    if (e && inst->pool->o.tickets)
        api_tickets_revoke(inst->pool->o.tickets, &e->ticket);
}

static instance_t *instance_at(const pool_t *pool, int index);

/* Background threads and requests run on backends only (BG2): the master
 * decides, whatever the instance's own environ says. */
static int is_backends(const instance_t *inst)
{
    return inst->index >= 0;
}

/* api_caller_t.start_background: system.StartBackgroundRequest (BG2's
 * limit counts the instance's background threads and background requests
 * together). */
static int api_start_background(void *owner, char *id, size_t n)
{
    instance_t *inst = owner;
    pool_t *pool = inst->pool;
    if (!is_backends(inst) || !pool->o.background_hook)
        return SYSTEM_BACKEND_REQUIRED;
    if (inst->state != I_READY && inst->state != I_WARMING) {
        snprintf(id, n, "the instance is shutting down");
        return SYSTEM_INTERNAL_ERROR;
    }
    if (inst->background.n + inst->bg_requests >= IPC_BACKGROUND_MAX)
        return SYSTEM_LIMIT_REACHED;
    uint64_t r;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
        snprintf(id, n, "no random request id: %s", strerror(errno));
        return SYSTEM_INTERNAL_ERROR;
    }
    snprintf(id, n, "%016llx", (unsigned long long)r);
    if (pool->o.background_hook(pool->o.hook_ctx, pool, inst->index, id) < 0) {
        snprintf(id, n, "cannot send the background request");
        return SYSTEM_INTERNAL_ERROR;
    }
    return SYSTEM_OK;
}

static void api_attach(instance_t *inst)
{
    pool_t *pool = inst->pool;
    api_chan_init(&inst->api);
    inst->api.loop = pool->loop;
    inst->api.registry = pool->o.api;
    inst->api.out = &inst->wbuf;
    inst->api.wake = api_wake;
    inst->api.log_id = api_log_id;
    inst->api.owner = inst;
    inst->api.caller.instance_id = inst->id;
    inst->api.caller.cpu_mhz = pool->acct_mhz;
    inst->api.caller.stats = &inst->stats;
    inst->api.caller.flush = api_flush;
    inst->api.caller.start_background = api_start_background;
    inst->api.caller.owner = inst;
    inst_stats_init(&inst->stats);
}

/* API1, API2: a sample about every second (the tick runs more often). */
static void sample_stats(instance_t *inst, uint64_t now)
{
    uint64_t cpu_ns, rss;
    if (inst->pid <= 0 || inst->state == I_DEAD || !inst_stats_due(&inst->stats, now))
        return;
    if (inst_stats_read(inst->pid, &cpu_ns, &rss) == 0)
        inst_stats_add(&inst->stats, now, cpu_ns, rss);
}

/* The instance's own stdout and stderr; NULL when it is to share the
 * zygote's: the server's own are the pool's choice (no output), or the
 * pipe cannot be made (at the fd limit), which does not stop the instance. */
static child_output_t *open_output(const instance_t *inst)
{
    if (!inst->pool->o.console)
        return NULL;
    char who[128];
    console_tag(inst, who, sizeof who);
    child_output_t *out = child_output_open(inst->pool->o.console, who);
    if (!out)
        log_warn("%s: no output pipe of its own (%s); it shares the zygote's", who,
                 strerror(errno));
    return out;
}

/* Whether an instance other than self serves (takes requests). */
static int another_ready(const pool_t *pool, const instance_t *self)
{
    for (const instance_t *i = pool->instances; i; i = i->next)
        if (i != self && i->state == I_READY)
            return 1;
    return 0;
}

static instance_t *instance_spawn(pool_t *pool, int index)
{
    if (pool->zy_w.fd < 0)
        return NULL;
    instance_t *inst = calloc(1, sizeof *inst);
    if (!inst)
        return NULL;
    inst->slots = calloc((size_t)pool->o.threads + IPC_BACKGROUND_MAX, sizeof *inst->slots);
    if (!inst->slots) {
        free(inst);
        return NULL;
    }
    int ch[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ch) < 0) {
        int short_of_fds = errno == EMFILE || errno == ENFILE;
        if (!short_of_fds || !pool->spawn_fds_short)
            log_error("instance: socketpair: %s%s", strerror(errno),
                      short_of_fds ? "; retrying while requests wait (see --max_connections "
                                     "and ulimit -n)"
                                   : "");
        pool->spawn_fds_short = short_of_fds;
        free(inst->slots);
        free(inst);
        return NULL;
    }
    pool->spawn_fds_short = 0;
    inst->pool = pool;
    for (int s = 0; s < pool->o.threads + IPC_BACKGROUND_MAX; s++) {
        inst->slots[s].inst = inst;
        inst->slots[s].deadline.cb = slot_deadline;
    }
    inst->no = ++pool->next_no;
    inst->index = index;
    inst->beside_serving = another_ready(pool, inst);
    inst->output = open_output(inst);
    inst->capacity = pool->o.threads;
    inst->pidfd = -1;
    inst->state = I_STARTING;
    inst->last_active_ms = pool->loop->now_ms;
    inst->started_ms = pool->loop->now_ms;
    make_instance_id(inst->id);
    api_attach(inst);

    zy_msg_t msg;
    memset(&msg, 0, sizeof msg);
    msg.type = ZY_SPAWN;
    msg.instance_no = inst->no;
    memcpy(msg.instance_id, inst->id, sizeof inst->id);
    /* The channel, then the output pipe (zygote_proto.h). */
    int fds[ZY_MAX_FDS] = {ch[1], inst->output ? child_output_fd(inst->output) : -1};
    int sent = zy_send(pool->zy_w.fd, &msg, fds, fds[1] >= 0 ? 2 : 1);
    close(ch[1]);
    if (inst->output)
        child_output_close_writer(inst->output);
    if (sent < 0) {
        log_error("instance: cannot reach the zygote: %s", strerror(errno));
        close(ch[0]);
        child_output_close(inst->output);
        free(inst->slots);
        free(inst);
        return NULL;
    }
    fcntl(ch[0], F_SETFL, O_NONBLOCK);
    inst->w.fd = ch[0];
    inst->w.cb = instance_event;
    inst->resume_reads.cb = resume_reads;
    inst->writable = 1;
    if (loop_add(pool->loop, &inst->w, EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0) {
        /* The zygote hands it on regardless: it will find its channel
         * closed and exit, and end its pipe. */
        close(ch[0]);
        release_output(inst);
        free(inst->slots);
        free(inst);
        return NULL;
    }
    inst->next = pool->instances;
    pool->instances = inst;
    pool->n_alive++;
    pool->n_starting++;
    if (index >= 0)
        log_info("%s instance %d starting", pool->o.name ? pool->o.name : "backend", index);
    else
        log_debug("instance %u starting (%s)", inst->no, inst->id);
    return inst;
}

static void unlink_instance(pool_t *pool, instance_t *inst)
{
    for (instance_t **p = &pool->instances; *p; p = &(*p)->next) {
        if (*p == inst) {
            *p = inst->next;
            break;
        }
    }
    inst->next = pool->graveyard;
    pool->graveyard = inst;
    report_console_dropped(inst);
}

static void instance_kill(instance_t *inst)
{
    if (inst->pidfd >= 0)
        syscall(SYS_pidfd_send_signal, inst->pidfd, SIGKILL, NULL, 0);
}

/* The default version lost an instance as it started beside one that
 * serves (it died or was shut down in its warmup, say). Such a loss costs
 * no request: without a pause a new one would be started at once, again
 * and again for as long as requests wait. After MAX_START_FAILURES in a
 * row, none starts for a while (kick_pass). */
static void pause_starts(pool_t *pool)
{
    if (pool->start_failures < MAX_START_FAILURES)
        return;
    pool->start_retry_delay_ms =
        pool->start_retry_delay_ms ? 2 * pool->start_retry_delay_ms : START_RETRY_MIN_MS;
    if (pool->start_retry_delay_ms > MAX_RESPAWN_DELAY_MS)
        pool->start_retry_delay_ms = MAX_RESPAWN_DELAY_MS;
    pool->start_retry_at_ms = pool->loop->now_ms + pool->start_retry_delay_ms;
    log_warn("%d instances in a row were lost as they started; the next starts in %llu ms at "
             "the earliest",
             pool->start_failures, (unsigned long long)pool->start_retry_delay_ms);
}

/* A line in the own log of request log_id (NULL or empty: no request),
 * where the app's lines go. */
static void request_log_line(const pool_t *pool, const char *log_id, int level, const char *text,
                             size_t len)
{
    if (log_id && log_id[0])
        log_store_app_line(pool->o.logs, (log_str_t){log_id, strlen(log_id)}, log_store_now_us(),
                           level, (log_str_t){text, len});
}

/* What the server has to tell the app's developer about a request goes in
 * its own log, at critical level: they read request logs rather than the
 * server's console (RT9). */
static void request_log_critical(const pool_t *pool, const char *log_id, const char *text)
{
    request_log_line(pool, log_id, LOG_CRITICAL, text, strlen(text));
}

/* A request that ends without its instance's answer says why in its log,
 * and later how the instance ended when the zygote has not told yet. */
static void note_loss_in_request_log(instance_t *inst, const char *log_id, const char *why)
{
    char line[200];
    snprintf(line, sizeof line, "the instance serving this request was lost: %s", why);
    request_log_critical(inst->pool, log_id, line);
    if (!inst->no_exit_report)
        lost_requests_add(&inst->pool->lost, inst->pid, log_id);
}

static void instance_fail(instance_t *inst, const char *why)
{
    pool_t *pool = inst->pool;
    if (inst->state == I_DEAD)
        return;
    int was_starting = inst->state == I_STARTING || inst->state == I_WARMING;
    int was_stopping = inst->state == I_STOPPING; /* shut down: not a crash */
    char name[160];
    int had_work = inst->inflight > 0;
    int start_failed = 0;
    if (was_starting) {
        pool->n_starting--;
        /* Not with the zygote gone (zygote_lost): it took the instance
         * along, and counts its own losses. */
        if (!pool->shutting_down && pool->zy_w.fd >= 0) {
            pool->start_failures++;
            start_failed = 1;
        }
    }
    inst->state = I_DEAD;
    pool->n_alive--;
    loop_timer_stop(pool->loop, &inst->resume_reads);
    api_chan_close(&inst->api);
    instance_kill(inst);
    loop_del(pool->loop, &inst->w);
    close(inst->w.fd);
    inst->w.fd = -1;
    if (inst->pidfd >= 0) {
        close(inst->pidfd);
        inst->pidfd = -1;
    }
    release_output(inst);
    if (had_work || was_starting || inst->background.n || inst->bg_requests)
        log_warn("%s lost: %s", label(inst, name, sizeof name), why);
    background_log_ctx_t ctx = background_ctx(inst);
    /* Its background threads' request logs end with it: they say why too. */
    for (int k = 0; k < IPC_BACKGROUND_MAX; k++)
        if (inst->background.e[k].id) {
            note_loss_in_request_log(inst, inst->background.e[k].log_id, why);
            revoke_background_ticket(inst, &inst->background.e[k]);
        }
    background_log_end_all(&inst->background, &ctx);
    for (int s = 0; s < inst->capacity + IPC_BACKGROUND_MAX; s++) {
        slot_t *slot = &inst->slots[s];
        if (!slot->id)
            continue;
        note_loss_in_request_log(inst, slot->log_id, why);
        job_t *job = slot_release(slot);
        if (job)
            job_fail(job, 500, why, inst->id);
    }
    unlink_instance(pool, inst);
    if ((pool->o.resident || keeps_instances(pool)) && !pool->shutting_down && !pool->stopped) {
        /* BK3: a resident instance is started again at once, then with a
         * growing delay while they keep failing as they start or soon
         * after (one shut down, by hand or over its memory, did not); so
         * is one kept by keep_ready_instances. */
        uint64_t now = pool->loop->now_ms;
        if (!start_failed &&
            (was_stopping || !inst->ready_ms || now - inst->ready_ms >= RESPAWN_STABLE_MS))
            pool->respawn_delay_ms = 0;
        else if (pool->respawn_delay_ms)
            log_warn("%s was lost %llu ms after it started; the next starts in %llu ms at the "
                     "earliest",
                     label(inst, name, sizeof name), (unsigned long long)(now - inst->started_ms),
                     (unsigned long long)pool->respawn_delay_ms);
        pool->respawn_at_ms = now + pool->respawn_delay_ms;
        pool->respawn_delay_ms = pool->respawn_delay_ms ? pool->respawn_delay_ms * 2 : 500;
        if (pool->respawn_delay_ms > MAX_RESPAWN_DELAY_MS)
            pool->respawn_delay_ms = MAX_RESPAWN_DELAY_MS;
    }
    /* The default version's instances that die in their warmup count too,
     * but those only start beside one that serves (warms_up): what waits
     * is that one's to answer. A backend's requests may wait for the very
     * instance that fails. */
    if (pool->start_failures >= MAX_START_FAILURES && !pool->o.resident &&
        (pool->o.numbered || !another_ready(pool, NULL))) {
        /* Do not spin forking instances that cannot start: fail what waits. */
        if (pool->n_queued)
            log_error("%d instances in a row died while starting; failing %d queued requests",
                      pool->start_failures, pool->n_queued);
        else
            log_warn("%d instances in a row died while starting", pool->start_failures);
        fail_queued(pool, 500, "instances fail to start");
        pool->start_failures = 0;
    } else if (start_failed && !pool->o.resident && !pool->o.numbered) {
        pause_starts(pool);
    }
    kick(pool);
}

static void instance_stop(instance_t *inst)
{
    if (inst->state == I_STOPPING || inst->state == I_DEAD)
        return;
    pool_t *pool = inst->pool;
    if (inst->state == I_STARTING || inst->state == I_WARMING) {
        pool->n_starting--;
        /* Shut down before it served (out of memory in its warmup): a
         * start lost, as if it had died there. */
        if (!pool->shutting_down && !pool->o.resident && !pool->o.numbered) {
            pool->start_failures++;
            pause_starts(pool);
        }
    }
    inst->state = I_STOPPING;
    inst->stop_deadline_ms = inst->pool->loop->now_ms + inst->pool->o.stop_grace_ms;
    put_empty_frame(inst, IPC_SHUTDOWN, 0);
}

static void resume_reads_soon(instance_t *inst)
{
    if (inst->reads_held && inst->wbuf.len <= CHANNEL_HOLD_MARK &&
        !loop_timer_armed(&inst->resume_reads))
        loop_timer_start(inst->pool->loop, &inst->resume_reads, 0);
}

static int instance_flush(instance_t *inst)
{
    while (inst->wbuf.len > 0) {
        ssize_t n = write(inst->w.fd, buf_ptr(&inst->wbuf), inst->wbuf.len);
        if (n > 0) {
            buf_consume(&inst->wbuf, (size_t)n);
            api_chan_written(&inst->api, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            if (inst->wbuf.len > CHANNEL_BACKLOG_MAX) {
                instance_fail(inst, "it stopped reading its channel");
                return -1;
            }
            if (inst->writable)
                inst->unwritable_ms = inst->pool->loop->now_ms;
            inst->writable = 0;
            resume_reads_soon(inst);
            return 0;
        }
        instance_fail(inst, "its channel broke");
        return -1;
    }
    /* All written: a large answer's buffer (a Logs API Read's 4 MB) is
     * not kept for the instance's life. */
    buf_trim(&inst->wbuf, CHANNEL_KEEP_BUFFER);
    resume_reads_soon(inst);
    return 0;
}

/* Sends job to inst in a free slot: one of its `capacity` request slots, or
 * of the background ones after them. 0; -1 when there is no free slot;
 * -2 when memory runs out (the job untouched either way). */
static int dispatch_to(instance_t *inst, job_t *job, int background)
{
    pool_t *pool = inst->pool;
    int s = background ? inst->capacity : 0;
    int end = background ? inst->capacity + IPC_BACKGROUND_MAX : inst->capacity;
    while (s < end && inst->slots[s].id)
        s++;
    if (s == end)
        return -1;
    /* Ids with IPC_BACKGROUND_ID_BIT are the instance's own (ipc.h). */
    inst->next_id = (inst->next_id + 1) & ~IPC_BACKGROUND_ID_BIT;
    if (inst->next_id == 0)
        inst->next_id = 1;
    uint32_t id = inst->next_id;
    buf_t *b = &inst->wbuf;
    size_t mark = b->len;
    char number[16];
    const char *instance_id = env_instance_id(inst, number);
    size_t id_len = strlen(instance_id);
    int gae = pool->o.gae_instance;
    slot_t *slot = &inst->slots[s];
    /* X-AppEngine-Api-Ticket: without randomness the request still runs,
     * only the HTTP API server will not know it. */
    int ticketed = pool->o.tickets &&
                   api_tickets_issue(pool->o.tickets, &slot->ticket, slot, &TICKET_OPS) == 0;
    if (pool->o.tickets && !ticketed)
        log_error("no API ticket for request %s: %s", job->log_id ? job->log_id : "?",
                  strerror(errno));
    long start = ipc_begin_frame(b, IPC_REQUEST, id);
    if (start < 0 || ipc_put_bytes(b, job->script, job->script_len) < 0 ||
        ipc_put_u32(b, job->n_env + 1 + (uint32_t)gae + (uint32_t)ticketed) < 0 ||
        buf_append(b, buf_ptr(job->env), job->env->len) < 0 ||
        ipc_put_bytes(b, "INSTANCE_ID", 11) < 0 || ipc_put_bytes(b, instance_id, id_len) < 0 ||
        (gae && put_gae_instance(b, inst) < 0) ||
        (ticketed && (ipc_put_bytes(b, "HTTP_X_APPENGINE_API_TICKET", 27) < 0 ||
                      ipc_put_bytes(b, slot->ticket.hex, API_TICKET_HEX) < 0)) ||
        ipc_put_bytes(b, job->body, job->body_len) < 0 || ipc_end_frame(b, start) < 0) {
        b->len = mark;
        if (ticketed)
            api_tickets_revoke(pool->o.tickets, &slot->ticket);
        return -2;
    }
    if (background)
        ipc_set_flags(b, start, IPC_FLAG_BACKGROUND);
    slot->id = id;
    slot->job = job;
    slot->background = background;
    job->log.replica_index = inst->index; /* its wait: queue_remove, or none */
    /* A background request runs in the app its instance already imported. */
    if (!background) {
        job->log.loading = !inst->loaded;
        inst->loaded = 1;
    }
    snprintf(slot->log_id, sizeof slot->log_id, "%s", job->log_id ? job->log_id : "");
    slot->deadline_sent = 0;
    if (job->deadline_ms)
        loop_timer_start(pool->loop, &slot->deadline, job->deadline_ms);
    if (background) {
        inst->bg_requests++;
    } else {
        inst->inflight++;
        pool->inflight++;
    }
    inst->last_active_ms = pool->loop->now_ms;
    job->inst = inst;
    job->id = id;
    mark_dirty(inst);
    return 0;
}

/* A request job: -1 when inst has no free slot; out of memory fails it. */
static int dispatch(instance_t *inst, job_t *job)
{
    int rc = dispatch_to(inst, job, 0);
    if (rc == -2)
        job_fail(job, 500, "out of memory building the request", NULL);
    return rc == -1 ? -1 : 0;
}

static instance_t *instance_at(const pool_t *pool, int index)
{
    for (instance_t *i = pool->instances; i; i = i->next)
        if (i->index == index && i->state != I_DEAD)
            return i;
    return NULL;
}

/* The lowest instance number with no live instance, or -1. */
static int free_index(pool_t *pool)
{
    for (int k = 0; k < pool->o.max_instances; k++)
        if (!instance_at(pool, k))
            return k;
    return -1;
}

static instance_t *free_instance(pool_t *pool, int target)
{
    if (target > 0) {
        instance_t *i = instance_at(pool, target - 1);
        return i && i->state == I_READY && i->inflight < i->capacity && !i->in_grace ? i : NULL;
    }
    /* Pack requests onto the oldest ready instance with room, so extra
     * instances go idle and can be stopped. */
    instance_t *best = NULL;
    for (instance_t *i = pool->instances; i; i = i->next)
        if (i->state == I_READY && i->inflight < i->capacity && !i->in_grace)
            best = i; /* the list is newest-first: the last hit is oldest */
    return best;
}

/* A new instance: numbered pools take the lowest free number (or `index`). */
static instance_t *spawn_next(pool_t *pool, int index)
{
    if (!pool->o.numbered)
        return instance_spawn(pool, -1);
    if (index < 0)
        index = free_index(pool);
    return index >= 0 ? instance_spawn(pool, index) : NULL;
}

/* Instances that serve or soon will: not shutting down; *idle (when not
 * NULL): how many of them have no request. */
static int serving_instances(const pool_t *pool, int *idle)
{
    int n = 0, no_request = 0;
    for (const instance_t *i = pool->instances; i; i = i->next)
        if (i->state != I_DEAD && i->state != I_STOPPING) {
            n++;
            no_request += i->inflight == 0;
        }
    if (idle)
        *idle = no_request;
    return n;
}

/* The default version keeps instances running whatever its load. */
static int keeps_instances(const pool_t *pool)
{
    return pool->o.min_instances || pool->o.min_idle_instances;
}

/* How many instances may be alive, stopping ones included. Default-version
 * instances that shut down (idle, retired, over their memory) serve nothing
 * more but may still finish a request or run a slow shutdown hook for up to
 * --shutdown_timeout: they do not count against --max_instances, else at
 * that ceiling nothing would serve what comes meanwhile. As many again at
 * most, so that an app retiring its instances in a loop cannot multiply
 * them. A backend's instance numbers stay taken until their instances are
 * gone (free_index). */
static int alive_cap(const pool_t *pool, int serving)
{
    int cap = pool->o.max_instances;
    if (!pool->o.numbered) {
        int stopping = pool->n_alive - serving;
        cap += stopping < pool->o.max_instances ? stopping : pool->o.max_instances;
    }
    return cap;
}

/* Requests waiting for an instance number whose instance is shutting down
 * get 404 at once (BK4), whether or not a slot is free elsewhere; one that
 * idles out is replaced instead. Answering one may change the queue (its
 * client's next request): the walk starts over. */
static void fail_waiting_for_stopping(pool_t *pool)
{
    if (!pool->o.numbered || !pool->q_head)
        return;
    /* Every pass comes here, and one instance seldom shuts down: the
     * queue is walked only while one does. */
    const instance_t *i = pool->instances;
    while (i && (i->state != I_STOPPING || i->idled_out))
        i = i->next;
    if (!i)
        return;
    for (job_t *job = pool->q_head; job;) {
        instance_t *t = job->target > 0 ? instance_at(pool, job->target - 1) : NULL;
        if (!t || t->state != I_STOPPING || t->idled_out) {
            job = job->next;
            continue;
        }
        queue_remove(pool, job);
        job_fail(job, 404, "that instance is shutting down", t->id);
        job = pool->q_head;
    }
}

static void kick_pass(pool_t *pool)
{
    fail_waiting_for_stopping(pool);
    int blocked = 0; /* queued jobs for any instance that found none free */
    uint64_t oldest_blocked_ms = 0;
    for (job_t *job = pool->q_head, *next; job && pool->inflight < pool->o.max_concurrent;
         job = next) {
        next = job->next;
        instance_t *inst = free_instance(pool, job->target);
        if (!inst) {
            if (job->target > 0) {
                /* A dynamic backend's instance that is not running yet
                 * starts for the request that names it. */
                if (!instance_at(pool, job->target - 1) && !pool->o.resident)
                    spawn_next(pool, job->target - 1);
                continue;
            }
            if (!blocked++)
                oldest_blocked_ms = job->queued_us / 1000;
            continue;
        }
        uint64_t queued_ms = job->queued_us / 1000; /* dispatch may end the job */
        queue_remove(pool, job);
        if (dispatch(inst, job) < 0) {
            queue_push(pool, job);
            break;
        }
        double wait = (double)(pool->loop->now_ms - queued_ms);
        pool->wait_avg_ms += (wait - pool->wait_avg_ms) * WAIT_AVG_WEIGHT;
    }
    /* A stopping server starts nothing: pool_shutdown answered what waited,
     * and an instance started now would only be killed at the end. */
    if (!blocked || pool->inflight >= pool->o.max_concurrent || pool->o.resident ||
        pool->shutting_down)
        return;
    /* Requests wait for lack of instance capacity: start more; beyond
     * eager_instances, one at a time once they have waited long enough. */
    uint64_t waited = pool->loop->now_ms - oldest_blocked_ms;
    uint64_t next_check = 0; /* ms until waiting long enough, if not yet */
    int serving = serving_instances(pool, NULL);
    int limit; /* how many may be alive (stopping ones included) */
    if (serving < pool->eager_instances) {
        /* A backend's eager_instances is INT_MAX: with an instance
         * shutting down (alive, not serving) the sum would overflow. */
        int more = pool->eager_instances - serving;
        limit = more > INT_MAX - pool->n_alive ? INT_MAX : pool->n_alive + more;
    } else {
        int long_enough = waited >= pool->pending_max_ms ||
                          (waited >= pool->pending_ms && pool->wait_avg_ms >= pool->pending_ms);
        if (!long_enough)
            next_check =
                (waited < pool->pending_ms ? pool->pending_ms : pool->pending_max_ms) - waited;
        /* One at a time: the next once the one starting is up. */
        limit = long_enough && !pool->n_starting ? pool->n_alive + 1 : pool->n_alive;
    }
    int cap = alive_cap(pool, serving);
    if (limit > cap)
        limit = cap;
    /* Paused after instances that kept dying as they started, while
     * another serves what waits; with none serving, what waits fails at
     * the third loss instead (instance_fail). */
    uint64_t now = pool->loop->now_ms;
    if (now < pool->start_retry_at_ms && another_ready(pool, NULL)) {
        limit = pool->n_alive;
        next_check = pool->start_retry_at_ms - now;
    }
    /* Only what --max_concurrent_requests lets run needs an instance:
     * the rest waits for a slot, not for capacity. */
    if (blocked > pool->o.max_concurrent - pool->inflight)
        blocked = pool->o.max_concurrent - pool->inflight;
    int coming = pool->n_starting * pool->o.threads;
    while (pool->n_alive < limit && coming < blocked) {
        if (!spawn_next(pool, -1))
            break;
        coming += pool->o.threads;
    }
    if (coming < blocked && pool->n_alive < cap && next_check && !pool->shutting_down &&
        (!loop_timer_armed(&pool->scale_timer) ||
         pool->scale_timer.when_ms > pool->loop->now_ms + next_check))
        loop_timer_start(pool->loop, &pool->scale_timer, next_check);
}

/* Answering a job inside kick_pass (job_fail, or a dispatch that ends it)
 * can start its client's next pipelined request, whose pool_submit kicks
 * again: run nested, that kick could dispatch the job the outer loop saved
 * as its next, which would then be taken off the queue and dispatched a
 * second time. Nested calls only ask for another pass. */
static void kick(pool_t *pool)
{
    if (pool->kicking) {
        pool->kick_again = 1;
        return;
    }
    pool->kicking = 1;
    do {
        pool->kick_again = 0;
        kick_pass(pool);
    } while (pool->kick_again);
    pool->kicking = 0;
}

static void scale_check(loop_t *loop, loop_timer_t *t)
{
    (void)loop;
    kick((pool_t *)((char *)t - offsetof(pool_t, scale_timer)));
}

/* The CPUs this process may run on. */
static int usable_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* The slot running request id, or NULL. */
static slot_t *slot_find(instance_t *inst, uint32_t id)
{
    for (int s = 0; id && s < inst->capacity + IPC_BACKGROUND_MAX; s++)
        if (inst->slots[s].id == id)
            return &inst->slots[s];
    return NULL;
}

static int handle_response(instance_t *inst, const ipc_hdr_t *h, const uint8_t *payload)
{
    pool_t *pool = inst->pool;
    slot_t *slot = slot_find(inst, h->id);
    if (!slot) {
        log_error("instance %u answered request %u it was not given", inst->no, h->id);
        return -1;
    }
    if (h->flags & ~(IPC_FLAG_DEADLINE | IPC_FLAG_FAILED)) {
        log_error("instance %u sent unknown response flags %#x", inst->no, h->flags);
        return -1;
    }
    /* The instance's word that the request ran out of time counts only
     * when we did tell it so. */
    int timed_out = (h->flags & IPC_FLAG_DEADLINE) && slot->deadline_sent;
    memcpy(inst->last_log_id, slot->log_id, sizeof inst->last_log_id);
    job_t *job = slot_release(slot);
    /* Calls its deadline left waiting would hold the instance's call slots
     * until their own deadlines. */
    api_chan_end_request(&inst->api, h->id);
    inst->last_active_ms = pool->loop->now_ms;
    job_result_t res;
    memset(&res, 0, sizeof res);
    res.instance_id = inst->id;
    res.cpu_mhz = pool->acct_mhz;
    ipc_reader_t r;
    ipc_reader_init(&r, payload, h->len);
    uint32_t n_headers = 0;
    if (ipc_get_u64(&r, &res.cpu_us) < 0 || res.cpu_us > IPC_MAX_CPU_US ||
        ipc_get_bytes(&r, &res.status, &res.status_len) < 0 || ipc_get_u32(&r, &n_headers) < 0) {
        if (job)
            job_fail(job, 500, "malformed response from the instance", inst->id);
        return -1;
    }
    res.headers = r;
    res.n_headers = n_headers;
    uint64_t head_bytes = IPC_STATUS_LINE_EXTRA + (uint64_t)res.status_len;
    for (uint32_t i = 0; i < n_headers; i++) {
        const char *p;
        uint32_t n, m;
        if (ipc_get_bytes(&r, &p, &n) < 0 || ipc_get_bytes(&r, &p, &m) < 0)
            break;
        head_bytes += (uint64_t)n + m + IPC_HEADER_LINE_EXTRA;
    }
    if (r.err || ipc_get_bytes(&r, &res.body, &res.body_len) < 0 || r.left != 0) {
        if (job)
            job_fail(job, 500, "malformed response from the instance", inst->id);
        return -1;
    }
    if (!job)
        return 0; /* the client went away */
    job->inst = NULL;
    if (timed_out) {
        job_end_cpu(job, 500, 1, "the request ran past its deadline (DeadlineExceededError)",
                    res.instance_id, &res);
        return 0;
    }
    /* The instance refuses these itself; this is for one that does not. */
    if (head_bytes > pool->o.max_response_header_bytes) {
        char why[200];
        snprintf(why, sizeof why,
                 "response headers too large: %llu bytes of status line and headers, the limit "
                 "is %zu (--max_response_header_bytes)",
                 (unsigned long long)head_bytes, pool->o.max_response_header_bytes);
        log_error("%.*s: %s", (int)job->script_len, job->script, why);
        job_end_cpu(job, 500, 0, "response headers too large", res.instance_id, &res);
        return 0;
    }
    if (res.body_len > pool->o.max_response_bytes) {
        char why[160];
        snprintf(why, sizeof why,
                 "response too large: %u bytes of body, the limit is %zu (--max_response_bytes)",
                 res.body_len, pool->o.max_response_bytes);
        log_error("%.*s: %s", (int)job->script_len, job->script, why);
        job_end_cpu(job, 500, 0, "response too large", res.instance_id, &res);
        return 0;
    }
    /* Its CPU time is kept for the request log. */
    if (h->flags & IPC_FLAG_FAILED)
        res.error_status = 500;
    job->done(job, &res);
    return 0;
}

/* An app log line (RT9): stored with its request; warnings and above (or
 * what --log_level asks for) also on the console. Lines outside any request
 * (id 0: start-up, the runtime itself) go to the console only. */
static int handle_log(instance_t *inst, const ipc_hdr_t *h, const uint8_t *payload)
{
    pool_t *pool = inst->pool;
    ipc_reader_t r;
    ipc_reader_init(&r, payload, h->len);
    uint32_t level;
    const char *msg;
    uint32_t n;
    if (ipc_get_u32(&r, &level) < 0 || ipc_get_bytes(&r, &msg, &n) < 0 || r.left != 0 || level > 4)
        return -1;
    /* Trailing newlines are the writer's, not part of the message. */
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        n--;
    const slot_t *slot = slot_find(inst, h->id);
    const char *log_id = slot ? slot->log_id : background_log_id(&inst->background, h->id);
    request_log_line(pool, log_id, (int)level, msg, n);
    int lv = (int)level; /* App Engine's levels 0-4 are log.h's */
    /* Only lines the console shows count against its budget. */
    if ((!log_id || (int)level >= pool->o.console_app_level) && lv >= log_min_level &&
        console_budget(inst, n)) {
        /* The app's text: it must not make console lines of its own. */
        char tag[128];
        log_safe_lines(lv, console_tag(inst, tag, sizeof tag), msg, n);
    }
    return 0;
}

/* IPC_BACKGROUND_STARTED for the thread in e: the environ of its own
 * /_ah/background request, with its log id and an API ticket of its own.
 * 0, or -1 when memory runs out (the thread cannot run). */
static int send_background_started(instance_t *inst, background_entry_t *e)
{
    pool_t *pool = inst->pool;
    int gae = pool->o.gae_instance;
    char number[16];
    const char *instance_id = env_instance_id(inst, number);
    e->owner = inst;
    /* Without randomness the thread still runs, only the HTTP API server
     * will not know it (as for a request). */
    int ticketed =
        pool->o.tickets && api_tickets_issue(pool->o.tickets, &e->ticket, e, &BG_TICKET_OPS) == 0;
    buf_t env = BUF_INIT;
    uint32_t n_env = 0;
    int rc = pool->o.background_env && inst->index >= 0
                 ? pool->o.background_env(pool->o.hook_ctx, inst->index, e->log_id, &env, &n_env)
                 : 0;
    buf_t *b = &inst->wbuf;
    size_t mark = b->len;
    long start = rc < 0 ? -1 : ipc_begin_frame(b, IPC_BACKGROUND_STARTED, e->id);
    if (start < 0 || ipc_put_bytes(b, "", 0) < 0 ||
        ipc_put_u32(b, n_env + 2 + (uint32_t)gae + (uint32_t)ticketed) < 0 ||
        buf_append(b, buf_ptr(&env), env.len) < 0 || ipc_put_bytes(b, "INSTANCE_ID", 11) < 0 ||
        ipc_put_bytes(b, instance_id, strlen(instance_id)) < 0 ||
        (gae && put_gae_instance(b, inst) < 0) || ipc_put_bytes(b, "REQUEST_LOG_ID", 14) < 0 ||
        ipc_put_bytes(b, e->log_id, strlen(e->log_id)) < 0 ||
        (ticketed && (ipc_put_bytes(b, "HTTP_X_APPENGINE_API_TICKET", 27) < 0 ||
                      ipc_put_bytes(b, e->ticket.hex, API_TICKET_HEX) < 0)) ||
        ipc_put_bytes(b, "", 0) < 0 || ipc_end_frame(b, start) < 0) {
        b->len = mark;
        revoke_background_ticket(inst, e);
        buf_free(&env);
        return -1;
    }
    buf_free(&env);
    mark_dirty(inst);
    return 0;
}

/* A background thread (BG3) or the internal /_ah/stop request (BK4)
 * starts or ends: its own request log. -1 when the frame breaks the
 * protocol, -2 when memory runs out. */
static int handle_background(instance_t *inst, const ipc_hdr_t *h, const uint8_t *payload)
{
    background_log_ctx_t ctx = background_ctx(inst);
    if (h->type == IPC_BACKGROUND_START) {
        ipc_reader_t r;
        ipc_reader_init(&r, payload, h->len);
        uint32_t kind = 0;
        if ((h->len != 0 &&
             (ipc_get_u32(&r, &kind) < 0 || r.left != 0 || kind != IPC_BACKGROUND_STOP)) ||
            !(h->id & IPC_BACKGROUND_ID_BIT))
            return -1;
        /* The hook runs only after IPC_SHUTDOWN (instance_stop). */
        if (kind && inst->state != I_STOPPING)
            return -1;
        /* BG2: threads only on backends; the shutdown hook runs anywhere. */
        if (!kind && !is_backends(inst)) {
            if (put_empty_frame(inst, IPC_BACKGROUND_REFUSED, h->id) < 0)
                return -2;
            mark_dirty(inst);
            return 0;
        }
        if (background_log_start(&inst->background, h->id, kind == IPC_BACKGROUND_STOP, &ctx) < 0)
            return -1;
        if (kind == IPC_BACKGROUND_STOP)
            return 0; /* nothing waits for an answer */
        background_entry_t *e = background_log_find(&inst->background, h->id);
        /* -2: the thread waits for an answer it cannot have. */
        return send_background_started(inst, e) < 0 ? -2 : 0;
    }
    ipc_reader_t r;
    ipc_reader_init(&r, payload, h->len);
    uint32_t failed;
    uint64_t cpu_us;
    if (ipc_get_u32(&r, &failed) < 0 || ipc_get_u64(&r, &cpu_us) < 0 || r.left != 0 || failed > 1 ||
        cpu_us > IPC_MAX_CPU_US)
        return -1;
    inst->last_active_ms = inst->pool->loop->now_ms;
    background_entry_t *e = background_log_find(&inst->background, h->id);
    if (!e)
        return -1;
    revoke_background_ticket(inst, e);
    /* As at a request's end: the calls it left are cancelled, their slots
     * free again. */
    api_chan_end_request(&inst->api, h->id);
    return background_log_end(&inst->background, h->id, (int)failed,
                              mcycles_from_us(cpu_us, inst->pool->acct_mhz), &ctx);
}

/* IPC_RETIRE: the instance can no longer keep a rule of the runtime (a
 * request's thread outlived it, RT11) and is shut down; the pool replaces
 * it as it does any stopped instance. */
static int handle_retire(instance_t *inst, const ipc_hdr_t *h, const uint8_t *payload)
{
    ipc_reader_t r;
    ipc_reader_init(&r, payload, h->len);
    const char *why;
    uint32_t n;
    if (h->id != 0 || ipc_get_bytes(&r, &why, &n) < 0 || r.left != 0 || n > IPC_RETIRE_REASON_MAX)
        return -1;
    if (inst->state == I_STOPPING)
        return 0;
    /* The app could send this itself: its text must not make console lines. */
    char text[IPC_RETIRE_REASON_MAX + 1];
    log_safe_text(text, why, n);
    char name[160];
    log_warn("%s %s; shutting it down", label(inst, name, sizeof name), text);
    instance_stop(inst);
    mark_dirty(inst);
    return 0;
}

/* Whether a ready instance gets its start request first (start_hook):
 * a backend's always (BK3). The default version's warmup goes only to an
 * instance started while another served, and only while one still does:
 * one started because none served (the first, or after all were lost)
 * takes the requests that wait for it at once, the first of them loading
 * the app as a warmup would (App Engine's loading request), since a
 * warmup would only delay them. */
static int warms_up(const instance_t *inst)
{
    return inst->pool->o.numbered || inst->ahead ||
           (inst->beside_serving && another_ready(inst->pool, inst));
}

/* The instance said READY and runs under its caps: it may take requests
 * (its start request first, see warms_up). */
static void instance_ready(instance_t *inst)
{
    pool_t *pool = inst->pool;
    if (inst->state == I_STARTING && pool->o.start_hook && warms_up(inst) && !inst->stale) {
        /* Nothing else until it ends. */
        inst->state = I_WARMING;
        pool->o.start_hook(pool->o.hook_ctx, pool, pool->o.numbered ? inst->index : (int)inst->no);
    } else if (inst->state == I_STARTING) {
        inst->state = I_READY;
        pool->n_starting--;
        pool->start_failures = 0;
        pool->start_retry_at_ms = pool->start_retry_delay_ms = 0;
        inst->ready_ms = pool->loop->now_ms;
        log_debug("instance %u ready", inst->no);
        if (inst->stale)
            restart_instance(inst);
    }
}

/* A frame that breaks ipc.h: the instance is killed, and why is logged
 * even when it ran nothing (instance_fail tells only of work it loses). */
static void protocol_violation(instance_t *inst, const ipc_hdr_t *h, const char *why)
{
    char name[160];
    log_error("%s broke the channel protocol and is killed: %s (frame type %u, flags %#x, id %u, "
              "%u bytes)",
              label(inst, name, sizeof name), why, h->type, h->flags, h->id, h->len);
    instance_fail(inst, why);
}

/* Its frames wait unread for wait ms, the rest of its second. */
static void hold_for_rate(instance_t *inst, uint64_t wait)
{
    inst->reads_held = 1;
    loop_timer_start(inst->pool->loop, &inst->resume_reads, wait);
    if (!inst->rate_told) {
        char name[160];
        log_warn("%s sends more than %u frames a second on its channel besides its answers "
                 "(app log lines, API calls): the master takes them no faster",
                 label(inst, name, sizeof name), CHANNEL_FRAMES_PER_SECOND);
        inst->rate_told = 1;
    }
}

/* Returns -1 when the instance broke the protocol (it is then killed). */
static int handle_frames(instance_t *inst)
{
    while (inst->rbuf.len >= IPC_HDR_SIZE && inst->state != I_DEAD) {
        if (inst->wbuf.len > CHANNEL_HOLD_MARK && !inst->hung_up) {
            inst->reads_held = 1;
            return 0;
        }
        ipc_hdr_t h;
        ipc_parse_hdr((const uint8_t *)buf_ptr(&inst->rbuf), &h);
        if (h.len > IPC_MAX_PAYLOAD) {
            protocol_violation(inst, &h, "it sent an oversized frame");
            return -1;
        }
        if (inst->rbuf.len < IPC_HDR_SIZE + h.len)
            break;
        /* Answers are not counted: there is one per request the master
         * sent (or a few, for a large one), and a busy instance answers
         * tens of thousands a second, each with its log lines. */
        uint64_t wait = inst->hung_up || h.type == IPC_RESPONSE
                            ? 0
                            : channel_rate_take(&inst->rate, inst->pool->loop->now_ms);
        if (wait) {
            hold_for_rate(inst, wait);
            return 0;
        }
        const uint8_t *payload = (const uint8_t *)buf_ptr(&inst->rbuf) + IPC_HDR_SIZE;
        /* Only IPC_RESPONSE has flags (ipc.h); handle_response checks them. */
        if (h.flags && h.type != IPC_RESPONSE) {
            protocol_violation(inst, &h, "flags on a frame that has none");
            return -1;
        }
        int rc = 0;
        switch (h.type) {
        case IPC_READY:
            if (h.id != 0 || h.len != 0)
                rc = -1;
            else if (inst->pid == 0 || inst->placing)
                inst->ready_early = 1;
            else
                instance_ready(inst);
            break;
        case IPC_RESPONSE:
            rc = handle_response(inst, &h, payload);
            break;
        case IPC_LOG:
            rc = handle_log(inst, &h, payload);
            break;
        case IPC_API_CALL: {
            const char *why = NULL;
            inst->api.caller.pid = inst->pid;
            if (api_chan_call(&inst->api, h.id, payload, h.len, &why) < 0) {
                protocol_violation(inst, &h, why);
                return -1;
            }
            break;
        }
        case IPC_BACKGROUND_START:
        case IPC_BACKGROUND_END:
            rc = handle_background(inst, &h, payload);
            if (rc == -2) {
                instance_fail(inst, "out of memory starting a background thread");
                return -1;
            }
            break;
        case IPC_RETIRE:
            rc = handle_retire(inst, &h, payload);
            break;
        default:
            rc = -1;
        }
        if (rc < 0) {
            protocol_violation(inst, &h, "a malformed or unexpected frame");
            return -1;
        }
        buf_consume(&inst->rbuf, IPC_HDR_SIZE + h.len);
    }
    return 0;
}

/* Reads and handles what the instance sent until the channel is drained
 * or its frames are held. -1 when the instance is gone. exited: its
 * process is known to be gone, and EOF is left to the caller. */
static int read_channel(instance_t *inst, int exited)
{
    while (!inst->reads_held) {
        size_t want = 65536;
        if (inst->rbuf.len >= IPC_HDR_SIZE) {
            ipc_hdr_t h;
            ipc_parse_hdr((const uint8_t *)buf_ptr(&inst->rbuf), &h);
            if (h.len <= IPC_MAX_PAYLOAD && IPC_HDR_SIZE + h.len > inst->rbuf.len &&
                IPC_HDR_SIZE + h.len - inst->rbuf.len > want)
                want = IPC_HDR_SIZE + h.len - inst->rbuf.len;
        }
        if (buf_reserve(&inst->rbuf, want) < 0) {
            instance_fail(inst, "out of memory reading its channel");
            return -1;
        }
        char *dst = buf_ptr(&inst->rbuf) + inst->rbuf.len;
        size_t room = inst->rbuf.cap - inst->rbuf.off - inst->rbuf.len;
        ssize_t n = read(inst->w.fd, dst, room);
        if (n > 0) {
            inst->rbuf.len += (size_t)n;
            if (handle_frames(inst) < 0)
                return -1;
            /* A short read drained the channel; more data raises a new
             * edge. Unless the instance hung up: then read on to EOF. */
            if ((size_t)n < room && !inst->hung_up)
                break;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (exited)
            break;
        instance_fail(inst, inst->state == I_STOPPING ? "the instance stopped"
                                                      : "the instance exited unexpectedly");
        return -1;
    }
    /* Drained: a large answer's buffer (up to twice --max_response_bytes)
     * is not kept for the instance's life, as the write buffer's is not. */
    buf_trim(&inst->rbuf, CHANNEL_KEEP_BUFFER);
    return 0;
}

static int instance_read(instance_t *inst)
{
    return read_channel(inst, 0);
}

/* The zygote says the instance has exited. What it wrote before (its last
 * answers and their log lines) may still wait in its channel: the
 * zygote's word can be read first, when its fd was ready before the
 * channel was. Those are handled before the instance is failed, which
 * fails only what it left unanswered. -1 when that failed it already. */
static int instance_read_last_frames(instance_t *inst)
{
    inst->hung_up = 1;
    inst->reads_held = 0;
    if (handle_frames(inst) < 0)
        return -1;
    return read_channel(inst, 1);
}

static void instance_event(loop_t *loop, io_watch_t *w, uint32_t events)
{
    (void)loop;
    instance_t *inst = (instance_t *)w;
    if (inst->state == I_DEAD)
        return;
    if (events & EPOLLOUT) {
        inst->writable = 1;
        if (instance_flush(inst) < 0)
            return;
    }
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        /* What it is owed will never be read: its frames are read to EOF,
         * held or not. */
        inst->hung_up = 1;
        inst->reads_held = 0;
        if (handle_frames(inst) < 0)
            return;
    }
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && instance_read(inst) < 0)
        return;
    kick(inst->pool);
}

/* The instance has read enough of what waited for it: its frames already
 * read are handled, then the channel is read again (no new edge may come
 * for what arrived meanwhile). */
static void resume_reads(loop_t *loop, loop_timer_t *t)
{
    (void)loop;
    instance_t *inst = (instance_t *)((char *)t - offsetof(instance_t, resume_reads));
    if (inst->state == I_DEAD || inst->wbuf.len > CHANNEL_HOLD_MARK)
        return;
    inst->reads_held = 0;
    if (handle_frames(inst) < 0 || instance_read(inst) < 0)
        return;
    kick(inst->pool);
}

/* ---------- deadlines (RT7) ---------- */

/* A request's deadline timer. First expiry: tell the instance, which raises
 * DeadlineExceededError in the request's thread; the app may still answer
 * within the grace. Second expiry: the request is stuck where no exception
 * reaches (a C loop, a regex that never gives up the GIL) and its instance
 * is killed; the other instances go on serving and the crash path replaces
 * it. */
static void slot_deadline(loop_t *loop, loop_timer_t *t)
{
    slot_t *slot = (slot_t *)((char *)t - offsetof(slot_t, deadline));
    instance_t *inst = slot->inst;
    pool_t *pool = inst->pool;
    if (!slot->id || inst->state == I_DEAD)
        return;
    char name[160];
    label(inst, name, sizeof name);
    if (!slot->deadline_sent) {
        slot->deadline_sent = 1;
        inst->in_grace++;
        log_warn("request %s on %s ran past its deadline; raising DeadlineExceededError",
                 slot->log_id, name);
        if (put_empty_frame(inst, IPC_DEADLINE, slot->id) == 0)
            mark_dirty(inst);
        /* Out of memory: the second expiry still stops the request. */
        loop_timer_start(loop, t, pool->o.deadline_grace_ms);
        return;
    }
    log_error("deadline exceeded: request %s on %s still ran %llu ms after "
              "DeadlineExceededError; the instance is killed",
              slot->log_id, name, (unsigned long long)pool->o.deadline_grace_ms);
    request_log_critical(pool, slot->log_id,
                         "the request still ran after its deadline and the grace that "
                         "followed DeadlineExceededError (--deadline, --deadline_grace); its "
                         "instance was killed");
    job_t *job = slot_release(slot);
    instance_fail(inst, "killed: a request on it ran past its deadline");
    if (job)
        job_end(job, 500, 1, "deadline exceeded; the instance was killed", inst->id);
}

/* ---------- periodic work ---------- */

/* BK4: an instance whose resident memory passes its class's limit is shut
 * down (and, resident, replaced once it is gone). */
static void check_memory(instance_t *inst, uint64_t now)
{
    pool_t *pool = inst->pool;
    /* The sample sample_stats has just taken, if any. */
    const stats_sample_t *last = inst_stats_last(&inst->stats);
    if (!pool->o.memory_limit || !last || last->t_ms != now || inst->state == I_STOPPING ||
        inst->state == I_DEAD || last->rss <= pool->o.memory_limit)
        return;
    char name[160];
    log_warn("%s uses %llu MB of memory, over its class's %zu MB; shutting it down",
             label(inst, name, sizeof name), (unsigned long long)(last->rss >> 20),
             pool->o.memory_limit >> 20);
    /* As App Engine did, the request after which it was found over says so
     * in its own log, where the app's developer looks: the ones running now
     * (the check samples on a tick, maybe mid-request; the stop lets them
     * finish), else the one answered last. */
    char line[200];
    snprintf(line, sizeof line,
             "after this request its instance used %llu MB of memory, over its "
             "class's %zu MB, and was shut down",
             (unsigned long long)(last->rss >> 20), pool->o.memory_limit >> 20);
    int running = 0;
    for (int s = 0; s < inst->capacity + IPC_BACKGROUND_MAX; s++) {
        const slot_t *slot = &inst->slots[s];
        if (slot->id && slot->log_id[0]) {
            running = 1;
            request_log_critical(pool, slot->log_id, line);
        }
    }
    if (!running)
        request_log_critical(pool, inst->last_log_id, line);
    instance_stop(inst);
    instance_flush(inst);
}

/* Whether inst is one of the min_instances oldest: kept, idle or not. */
static int kept_by_min_instances(const pool_t *pool, const instance_t *inst)
{
    int older = 0;
    for (const instance_t *i = inst->next; i; i = i->next)
        older += i->state != I_DEAD && i->state != I_STOPPING;
    return older < pool->o.min_instances;
}

/* Whether the tick keeps inst, idle for the idle timeout, running.
 * min_instances keep the oldest ones serving (the list is newest-first):
 * which instance stays must not depend on which tick saw which idle first.
 * Of min_idle_instances' idle ones only those idle for the idle timeout
 * count: one merely between two requests would serve the next, and
 * stopping the spare then would have the next tick start another in its
 * place, again and again under a steady load. */
static int kept_running(const pool_t *pool, const instance_t *inst, uint64_t now)
{
    if (!keeps_instances(pool))
        return 0;
    if (kept_by_min_instances(pool, inst))
        return 1;
    int idled_out = 0;
    for (const instance_t *i = pool->instances; i; i = i->next)
        idled_out += i->state == I_READY && i->inflight == 0 &&
                     now - i->last_active_ms >= pool->o.idle_timeout_ms;
    return idled_out <= pool->o.min_idle_instances;
}

/* Without a request for a quarter of the idle timeout, at most this long,
 * an instance counts as idle for max_idle_instances. Not much less: a
 * spare kept by min_idle_instances would be stopped between two requests
 * a few seconds apart and started again for the next. */
#define IDLE_EXCESS_MAX_MS 60000

static int idle_for(const instance_t *i, uint64_t now, uint64_t ms)
{
    return i->state == I_READY && i->inflight == 0 && i->background.n == 0 && i->bg_requests == 0 &&
           now - i->last_active_ms >= ms;
}

/* automatic_scaling max_idle_instances: the idle instances beyond it stop
 * now, not after the idle timeout, so that those a spike started go soon
 * after it; the newest first (the older have the warmer caches). The
 * min_instances ones stay, and config.c keeps min_idle_instances within
 * max_idle_instances. */
static void trim_idle_instances(pool_t *pool, uint64_t now)
{
    if (pool->o.max_idle_instances < 0 || pool->o.numbered || pool->o.resident)
        return;
    uint64_t settle = pool->o.idle_timeout_ms / 4;
    if (settle > IDLE_EXCESS_MAX_MS)
        settle = IDLE_EXCESS_MAX_MS;
    int idle = 0;
    for (const instance_t *i = pool->instances; i; i = i->next)
        idle += idle_for(i, now, settle);
    for (instance_t *i = pool->instances, *next; i && idle > pool->o.max_idle_instances; i = next) {
        next = i->next;
        if (!idle_for(i, now, settle) || kept_by_min_instances(pool, i))
            continue;
        char name[160];
        log_info("%s idle for %llu s, beyond automatic_scaling max_idle_instances %d; stopping it",
                 label(i, name, sizeof name),
                 (unsigned long long)((now - i->last_active_ms) / 1000),
                 pool->o.max_idle_instances);
        i->idled_out = 1;
        instance_stop(i);
        instance_flush(i);
        idle--;
    }
}

/* automatic_scaling min_instances serve or start from the server's start
 * on, and min_idle_instances more have no request (those starting count):
 * what is missing starts now, up to max_instances; after one died as it
 * started, with a growing delay (instance_fail), and not while starts are
 * paused (pause_starts: one shut down in its warmup, out of memory, is no
 * death but a start lost all the same). */
static void keep_ready_instances(pool_t *pool, uint64_t now)
{
    if (!keeps_instances(pool) || pool->shutting_down || now < pool->respawn_at_ms ||
        now < pool->start_retry_at_ms)
        return;
    int idle, serving = serving_instances(pool, &idle);
    while ((serving < pool->o.min_instances || idle < pool->o.min_idle_instances) &&
           pool->n_alive < alive_cap(pool, serving)) {
        instance_t *inst = spawn_next(pool, -1);
        if (!inst)
            break;
        inst->ahead = 1;
        serving++;
        idle++;
    }
}

static void tick(loop_t *loop, loop_timer_t *t)
{
    pool_t *pool = (pool_t *)((char *)t - offsetof(pool_t, tick));
    uint64_t now = loop->now_ms;
    /* Waits are "recent" only while requests keep coming. */
    if (!pool->q_head)
        pool->wait_avg_ms /= 2;
    while (pool->q_head && now - pool->q_head->queued_us / 1000 >= pool->o.max_pending_ms) {
        job_t *job = pool->q_head;
        queue_remove(pool, job);
        log_warn("request waited %llu ms for an instance; answering 503",
                 (unsigned long long)(now - job->queued_us / 1000));
        job_fail(job, 503, "no instance became free in time (--max_pending_latency)", NULL);
    }
    for (instance_t *i = pool->instances, *next; i; i = next) {
        next = i->next;
        sample_stats(i, now);
        check_memory(i, now);
        if (now - i->console_window_ms >= 1000)
            report_console_dropped(i);
        if (i->state == I_DEAD || i->state == I_STOPPING) {
            if (i->state == I_STOPPING && now >= i->stop_deadline_ms)
                instance_kill(i);
            continue;
        }
        if (!i->writable && i->wbuf.len > 0 && now - i->unwritable_ms >= CHANNEL_STALL_MS) {
            instance_fail(i, "it stopped reading its channel");
            continue;
        }
        /* Background threads keep an instance from idling out (BG3), and
         * so do min_instances and min_idle_instances (kept_running). */
        if (!pool->o.resident && idle_for(i, now, pool->o.idle_timeout_ms) &&
            !kept_running(pool, i, now)) {
            char name[160];
            log_info("%s idle for %llu s; stopping it", label(i, name, sizeof name),
                     (unsigned long long)((now - i->last_active_ms) / 1000));
            i->idled_out = 1;
            instance_stop(i);
            instance_flush(i);
        } else if (i->state == I_STARTING && now - i->started_ms >= START_TIMEOUT_MS) {
            /* Never forked: the zygote is alive but stuck (stopped, hung),
             * and would leave every later instance as unborn. Killed, it
             * is lost at once (no new instance is asked of it), which
             * fails i and the others it did not fork and starts another;
             * the list just changed under the loop. */
            if (i->pid == 0 && pool->zy_pid > 0) {
                char who[128];
                log_error("%s (pid %d) did not fork an instance in %d s; killing it",
                          zygote_label(pool, who, sizeof who), (int)pool->zy_pid,
                          START_TIMEOUT_MS / 1000);
                kill(pool->zy_pid, SIGKILL);
                zygote_lost(pool);
                break;
            }
            instance_fail(i, "it did not become ready in time");
        }
    }
    if (pool->zy_retry_at_ms && now >= pool->zy_retry_at_ms && !pool->shutting_down) {
        pool->zy_retry_at_ms = 0;
        if (zygote_spawn(pool) < 0)
            zygote_retry_later(pool);
    }
    if (pool->o.resident && !pool->stopped && !pool->shutting_down && now >= pool->respawn_at_ms)
        while (pool->n_alive < pool->o.max_instances && spawn_next(pool, -1))
            ;
    trim_idle_instances(pool, now);
    keep_ready_instances(pool, now);
    kick(pool);
    loop_timer_start(loop, &pool->tick, TICK_MS);
}

/* ---------- public ---------- */

pool_t *pool_new(loop_t *loop, const pool_opts_t *opts)
{
    pool_t *pool = calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    pool->loop = loop;
    pool->o = *opts;
    if (pool->o.threads < 1)
        pool->o.threads = 1;
    if (pool->o.cpu_mhz <= 0)
        pool->o.cpu_mhz = INSTANCE_CLASS_DEFAULT_MHZ;
    pool->acct_mhz = pool->o.cpu_cap ? cpu_cap_host_mhz(pool->o.cpu_cap) : pool->o.cpu_mhz;
    pool->zy_w.fd = -1;
    pool->tick.cb = tick;
    pool->scale_timer.cb = scale_check;
    if (pool->o.numbered) {
        /* A dynamic backend starts what its requests need at once (BK2). */
        pool->eager_instances = INT_MAX;
    } else if (pool->o.min_pending_ms < 0) {
        int cpus = usable_cpus();
        pool->eager_instances = cpus > 2 ? cpus - 1 : 1;
        pool->pending_ms = AUTO_PENDING_MS;
        pool->pending_max_ms = AUTO_PENDING_MAX_MS;
    } else {
        pool->eager_instances = 1;
        pool->pending_ms = pool->pending_max_ms = (uint64_t)pool->o.min_pending_ms;
    }
    /* app.yaml's max_pending_latency: a request that waited this long starts
     * an instance whatever the recent waits (config.c keeps it at least
     * min_pending_latency). */
    if (!pool->o.numbered && pool->o.max_pending_start_ms >= 0) {
        pool->pending_max_ms = (uint64_t)pool->o.max_pending_start_ms;
        if (pool->pending_ms > pool->pending_max_ms)
            pool->pending_ms = pool->pending_max_ms;
    }
    /* Requests that wait max_pending_ms get 503: scaling must come first. */
    if (!pool->o.numbered && pool->pending_max_ms >= pool->o.max_pending_ms) {
        uint64_t asked = pool->pending_max_ms;
        pool->pending_max_ms = pool->o.max_pending_ms / 2;
        if (pool->pending_ms > pool->pending_max_ms)
            pool->pending_ms = pool->pending_max_ms;
        if (pool->o.min_pending_ms >= 0 || pool->o.max_pending_start_ms >= 0)
            log_warn("app.yaml: automatic_scaling %s (%llu ms) is not below "
                     "--max_pending_latency (%llu ms, when waiting requests get 503); new "
                     "instances start for requests that have waited %llu ms",
                     pool->o.max_pending_start_ms >= 0 ? "max_pending_latency"
                                                       : "min_pending_latency",
                     (unsigned long long)asked, (unsigned long long)pool->o.max_pending_ms,
                     (unsigned long long)pool->pending_max_ms);
    }
    return pool;
}

void pool_set_logs(pool_t *pool, log_store_t *logs)
{
    pool->o.logs = logs;
}

int pool_start(pool_t *pool)
{
    if (pool->o.console && !pool->zy_output) {
        char who[128];
        zygote_label(pool, who, sizeof who);
        if (!(pool->zy_output = child_output_open(pool->o.console, who))) {
            log_error("%s: cannot make its output pipe: %s", who, strerror(errno));
            return -1;
        }
    }
    if (zygote_spawn(pool) < 0)
        return -1;
    /* BK2: resident instances all start now, as min_instances and
     * min_idle_instances do (the tick starts them). */
    return loop_timer_start(pool->loop, &pool->tick,
                            pool->o.resident || keeps_instances(pool) ? 0 : TICK_MS);
}

/* A failfast request that found no free instance is answered 503 without
 * waiting, but a dynamic backend still starts the instance it needed
 * (BK2), else no request would ever start one: the one it named, or one
 * more when none is starting already. */
static void failfast_start(pool_t *pool, int target)
{
    if (pool->o.resident)
        return;
    if (target > 0) {
        if (!instance_at(pool, target - 1))
            spawn_next(pool, target - 1);
    } else if (!pool->n_starting && pool->n_alive < pool->o.max_instances) {
        spawn_next(pool, -1);
    }
}

/* What every submitted job starts from: not on an instance, queued now,
 * nothing for its request log yet. */
static void job_begin(pool_t *pool, job_t *job)
{
    job->pool = pool;
    job->inst = NULL;
    job->id = 0;
    job->queued_us = pool->loop->now_us;
    job->log = JOB_LOG_NONE;
}

/* pool_submit after job_begin. */
static void submit(pool_t *pool, job_t *job)
{
    if (pool->zy_w.fd < 0 && pool->n_alive == 0) {
        job_fail(job, 500, "no instance can be started (the zygote is down)", NULL);
        return;
    }
    if (pool->stopped) {
        job_fail(job, 404, "the backend is stopped", NULL);
        return;
    }
    if (pool->shutting_down) {
        job_fail(job, 503, "the server is stopping", NULL);
        return;
    }
    if (job->target > pool->o.max_instances) {
        job_fail(job, 404, "no such instance", NULL);
        return;
    }
    instance_t *idle = free_instance(pool, job->target);
    if (pool->o.failfast && (!idle || pool->inflight >= pool->o.max_concurrent)) {
        failfast_start(pool, job->target);
        job_fail(job, 503, "no instance is free (failfast)", NULL);
        return;
    }
    if (pool->n_queued >= pool->o.max_pending &&
        (pool->inflight >= pool->o.max_concurrent || !idle)) {
        job_fail(job, 503, "too many requests waiting (--max_pending_requests)", NULL);
        return;
    }
    queue_push(pool, job);
    kick(pool);
}

void pool_submit(pool_t *pool, job_t *job)
{
    job_begin(pool, job);
    submit(pool, job);
}

void pool_hand_over(pool_t *from, pool_t *to)
{
    /* Answering one (to may refuse it) can cancel others: take them one
     * at a time from the head. */
    while (from->q_head) {
        job_t *job = from->q_head;
        uint64_t queued_us = job->queued_us;
        queue_remove(from, job);
        job_begin(to, job);
        job->queued_us = queued_us;
        submit(to, job);
    }
}

/* The instance start_hook named key; NULL once it is gone (a dying one
 * may still be found: callers check its state). */
static instance_t *instance_of_key(pool_t *pool, int key)
{
    return pool->o.numbered ? instance_at(pool, key) : instance_by_no(pool, (uint32_t)key);
}

void pool_submit_start(pool_t *pool, int key, job_t *job)
{
    job_begin(pool, job);
    instance_t *inst = instance_of_key(pool, key);
    if (!inst || inst->state != I_WARMING) {
        job_fail(job, 500, "the instance is gone", NULL);
        return;
    }
    if (dispatch(inst, job) < 0)
        job_fail(job, 500, "the instance has no free slot", inst->id);
}

int pool_submit_background(pool_t *pool, int index, job_t *job)
{
    job_begin(pool, job);
    instance_t *inst = instance_at(pool, index);
    if (!inst || (inst->state != I_READY && inst->state != I_WARMING))
        return -1;
    return dispatch_to(inst, job, 1) == 0 ? 0 : -1;
}

/* Shut down for the app's new code: its running requests finish; a
 * request for its number (a backend's) waits for the one that replaces it,
 * as after an idle stop, and a resident or kept one is replaced. */
static void restart_instance(instance_t *inst)
{
    inst->idled_out = 1;
    instance_stop(inst);
    instance_flush(inst);
}

void pool_start_result(pool_t *pool, int key, int ok)
{
    instance_t *inst = instance_of_key(pool, key);
    if (!inst || inst->state != I_WARMING)
        return;
    if (!ok) {
        instance_fail(inst, "its start request failed");
        return;
    }
    inst->state = I_READY;
    inst->ready_ms = pool->loop->now_ms;
    pool->n_starting--;
    pool->start_failures = 0;
    pool->start_retry_at_ms = pool->start_retry_delay_ms = 0;
    if (pool->o.numbered)
        log_info("%s instance %d started", pool->o.name ? pool->o.name : "backend", key);
    else
        log_debug("instance %u warmed up", inst->no);
    if (inst->stale)
        restart_instance(inst);
    kick(pool);
}

/* An instance that imported, or will import, what the app's files no
 * longer say: one serving stops now, letting its requests finish; one
 * still starting or warming up once it is ready (a warmup cut short is a
 * start lost), but a backend's start request may run for good (a worker's
 * loop): it gets the shutdown notice now. */
static void restart_stale(instance_t *inst)
{
    if (inst->state == I_READY || (inst->state == I_WARMING && inst->pool->o.numbered))
        restart_instance(inst);
    else
        inst->stale = 1;
}

/* The zygote dropped the modules it had preloaded: the app now has its
 * own of such names (ZY_APP_CHANGED). The instances up to number last hold
 * the preloaded ones, loaded or not. */
static void restart_preloaded(pool_t *pool, uint32_t last)
{
    int n = 0;
    for (instance_t *i = pool->instances, *next; i; i = next) {
        next = i->next;
        /* A stale one is already to restart (pool_restart_instances). */
        if (i->no <= last && !i->stale && i->state != I_STOPPING && i->state != I_DEAD) {
            n++;
            restart_stale(i);
        }
    }
    if (n > 0) {
        char who[128];
        log_info("the app now has a module named as one the %s loaded for instances: %d more "
                 "instance%s holding that one shut%s down (--automatic_restart)",
                 zygote_label(pool, who, sizeof who), n, n == 1 ? "" : "s", n == 1 ? "s" : "");
    }
    kick(pool);
}

int pool_restart_instances(pool_t *pool)
{
    /* The zygote hears first, before any instance it forks for what
     * follows (zygote_proto.h). Without a zygote none is forked. */
    zy_msg_t msg = {.type = ZY_APP_CHANGED, .instance_no = pool->next_no};
    if (pool->zy_w.fd >= 0 && zy_send(pool->zy_w.fd, &msg, NULL, 0) < 0)
        log_warn("cannot tell the zygote that the app changed: %s", strerror(errno));
    /* The new code may well be the fix of what kept failing: the next
     * start need not wait. The delays stay, for an app that fails again
     * (one that writes into its own folder as it starts, then crashes,
     * would otherwise restart itself without a pause). */
    pool->respawn_at_ms = pool->start_retry_at_ms = 0;
    int n = 0;
    for (instance_t *i = pool->instances, *next; i; i = next) {
        next = i->next;
        if (!i->loaded || i->state == I_STOPPING || i->state == I_DEAD)
            continue;
        n++;
        restart_stale(i);
    }
    kick(pool);
    return n;
}

void pool_set_stopped(pool_t *pool, int stopped)
{
    if (pool->stopped == stopped)
        return;
    pool->stopped = stopped;
    if (!stopped) {
        pool->respawn_at_ms = 0;
        pool->respawn_delay_ms = 0;
        loop_timer_start(pool->loop, &pool->tick, 0);
        return;
    }
    fail_queued(pool, 404, "the backend is stopped");
    for (instance_t *i = pool->instances, *next; i; i = next) {
        next = i->next;
        /* One in its start request runs app code like any request: it
         * gets the notice and the grace too (BK4). */
        if (i->state == I_STARTING) {
            instance_fail(i, "the backend was stopped");
        } else if (i->state == I_WARMING || i->state == I_READY) {
            instance_stop(i);
            instance_flush(i);
        }
    }
}

void pool_divert_queued(pool_t *pool)
{
    /* A callback submits to another pool: this queue's next job stays. */
    for (job_t *job = pool->q_head, *next; job; job = next) {
        next = job->next;
        if (job->diverted) {
            queue_remove(pool, job);
            job->diverted(job);
        }
    }
}

int pool_is_stopped(const pool_t *pool)
{
    return pool->stopped;
}

int pool_instance_state(const pool_t *pool, int index, uint64_t *last_active_ms, int *busy)
{
    const instance_t *i = instance_at(pool, index);
    if (!i)
        return 0;
    *last_active_ms = i->last_active_ms;
    *busy = i->inflight > 0 || i->background.n > 0 || i->bg_requests > 0;
    return 1;
}

pool_instance_phase_t pool_instance_phase(const pool_t *pool, int index)
{
    const instance_t *i = instance_at(pool, index);
    switch (i ? i->state : I_DEAD) {
    case I_STARTING:
        return POOL_INSTANCE_STARTING;
    case I_WARMING:
        return POOL_INSTANCE_IN_START;
    case I_READY:
        return POOL_INSTANCE_SERVING;
    case I_STOPPING:
        return POOL_INSTANCE_STOPPING;
    case I_DEAD:
        break;
    }
    return POOL_INSTANCE_NONE;
}

int pool_shutdown_instance(pool_t *pool, int index)
{
    instance_t *i = instance_at(pool, index);
    if (!i || i->state == I_STOPPING)
        return -1;
    if (i->state == I_STARTING) { /* no app code runs there yet */
        instance_fail(i, "it was shut down by hand");
        return 0;
    }
    instance_stop(i);
    instance_flush(i);
    kick(pool); /* what waits for it gets its 404 */
    return 0;
}

void pool_configure(pool_t *pool, int instances, int failfast)
{
    int per_instance = pool->o.max_instances ? pool->o.max_concurrent / pool->o.max_instances : 1;
    pool->o.max_instances = instances;
    pool->o.max_concurrent = instances * (per_instance > 0 ? per_instance : 1);
    pool->o.failfast = failfast;
    for (instance_t *i = pool->instances, *next; i; i = next) {
        next = i->next;
        if (i->index >= instances && i->state != I_DEAD && i->state != I_STOPPING) {
            instance_stop(i);
            instance_flush(i);
        }
    }
    /* Requests waiting for an instance number that is gone get the 404 a
     * new one gets at once, not after the stopping instance's running
     * requests (a dynamic backend would even start that number again). */
    for (job_t *job = pool->q_head; job;) {
        if (job->target <= instances) {
            job = job->next;
            continue;
        }
        queue_remove(pool, job);
        job_fail(job, 404, "no such instance", NULL);
        job = pool->q_head; /* answering it may have changed the queue */
    }
    loop_timer_start(pool->loop, &pool->tick, 0);
}

int pool_running(const pool_t *pool)
{
    int n = 0;
    for (const instance_t *i = pool->instances; i; i = i->next)
        if (i->state == I_READY)
            n++;
    return n;
}

const char *pool_cancel(job_t *job)
{
    if (job->queued) {
        queue_remove(job->pool, job);
        return NULL;
    }
    instance_t *inst = job->inst;
    if (!inst)
        return NULL;
    for (int s = 0; s < inst->capacity + IPC_BACKGROUND_MAX; s++)
        if (inst->slots[s].id == job->id && inst->slots[s].job == job)
            inst->slots[s].job = NULL;
    job->inst = NULL;
    return inst->id;
}

void pool_shutdown(pool_t *pool)
{
    pool->shutting_down = 1;
    /* The server's grace period is over and no instance takes new work:
     * what still waits is answered now rather than dropped with its
     * connection at exit. */
    fail_queued(pool, 503, "the server is stopping");
    for (instance_t *i = pool->instances, *next; i; i = next) {
        next = i->next;
        if (i->state == I_DEAD)
            continue;
        instance_stop(i);
        if (i->writable)
            instance_flush(i);
    }
}

int pool_busy(const pool_t *pool)
{
    return pool->n_alive > 0 || pool->n_queued > 0 || pool->n_zy_forked > 0;
}

/* Closing the socket makes the zygote kill its children and exit. */
static void zygote_close(pool_t *pool)
{
    if (pool->zy_w.fd < 0)
        return;
    loop_del(pool->loop, &pool->zy_w);
    close(pool->zy_w.fd);
    pool->zy_w.fd = -1;
    pool->zy_exit_by_ms = pool->loop->now_ms + ZYGOTE_EXIT_MS;
}

/* The zygote was reaped: its cgroups go, and its spare's (it killed and
 * reaped the spare). A backend's replaced generation goes long before the
 * server. */
static void zygote_reaped(pool_t *pool)
{
    release_caps(pool, pool->zy_pid, 1);
    pool->zy_pid = 0;
    release_spare(pool);
}

int pool_zygote_gone(pool_t *pool)
{
    zygote_close(pool);
    if (pool->zy_pid <= 0)
        return 1;
    if (waitpid(pool->zy_pid, NULL, WNOHANG) == 0) {
        if (pool->loop->now_ms >= pool->zy_exit_by_ms)
            kill(pool->zy_pid, SIGKILL); /* unreaped, the pid is still its */
        return 0;
    }
    zygote_reaped(pool);
    return 1;
}

void pool_kill_all(pool_t *pool)
{
    pool->shutting_down = 1;
    while (pool->instances)
        instance_fail(pool->instances, "the server is stopping");
    zygote_close(pool);
    if (pool->zy_pid > 0) {
        pid_t got = 0;
        for (int i = 0; i < ZYGOTE_EXIT_MS / 10 && !(got = waitpid(pool->zy_pid, NULL, WNOHANG));
             i++)
            usleep(10000);
        if (!got) {
            kill(pool->zy_pid, SIGKILL);
            waitpid(pool->zy_pid, NULL, 0);
        }
        zygote_reaped(pool);
    }
    loop_timer_stop(pool->loop, &pool->tick);
    loop_timer_stop(pool->loop, &pool->scale_timer);
}

void pool_flush(pool_t *pool)
{
    while (pool->dirty) {
        instance_t *i = pool->dirty;
        pool->dirty = i->next_dirty;
        i->dirty = 0;
        if (i->state != I_DEAD && i->writable)
            instance_flush(i);
    }
}

void pool_reap(pool_t *pool)
{
    while (pool->graveyard) {
        instance_t *i = pool->graveyard;
        pool->graveyard = i->next;
        buf_free(&i->rbuf);
        buf_free(&i->wbuf);
        free(i->slots);
        free(i);
    }
}

void pool_free(pool_t *pool)
{
    if (!pool)
        return;
    pool_kill_all(pool);
    if (pool->o.mover)
        cgroup_mover_forget(pool->o.mover, pool);
    /* Its last words are shown until its spares are gone too. */
    if (pool->zy_output)
        child_output_release(pool->zy_output);
    pool->dirty = NULL;
    pool_reap(pool);
    free(pool->zy_forked);
    free(pool);
}
