#include "channel_writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipc.h"

static int chan_fd = -1;
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

void channel_writer_init(int fd)
{
    chan_fd = fd;
}

int channel_writer_ready(void)
{
    return chan_fd >= 0;
}

/* Writes all of iov[0..n) as one uninterrupted frame. sendmsg rather than
 * writev for MSG_NOSIGNAL: the embedded interpreter does not ignore SIGPIPE
 * (install_signal_handlers=0), and a dead master must not kill us by signal
 * before we notice the error. Lock order: GIL, then write_lock; a thread
 * that holds write_lock never waits for the GIL, and one that holds the GIL
 * only ever try-locks write_lock or sends without blocking. */
static void write_all(struct iovec *iov, int n, const channel_block_hooks_t *hooks)
{
    void *token = NULL;
    int gil_released = !hooks;
    if (pthread_mutex_trylock(&write_lock) != 0) {
        if (!gil_released) {
            token = hooks->release();
            gil_released = 1;
        }
        pthread_mutex_lock(&write_lock);
    }
    while (n > 0) {
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        int flags = MSG_NOSIGNAL | (gil_released ? 0 : MSG_DONTWAIT);
        ssize_t w = sendmsg(chan_fd, &mh, flags);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if ((errno == EAGAIN || errno == EWOULDBLOCK) && !gil_released) {
                token = hooks->release();
                gil_released = 1;
                continue;
            }
            /* EPIPE/ECONNRESET: the master closed the channel. */
            fprintf(stderr, "gaelic instance %d: channel write failed: %s; exiting\n",
                    (int)getpid(), strerror(errno));
            _exit(0);
        }
        size_t left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    pthread_mutex_unlock(&write_lock);
    if (hooks && gil_released)
        hooks->reacquire(token);
}

int channel_send_frame(buf_t *head, long start, const void *tail, size_t tail_len,
                       const channel_block_hooks_t *hooks)
{
    size_t in_head = head->len - (size_t)start - IPC_HDR_SIZE;
    if (tail_len > IPC_MAX_PAYLOAD || in_head > IPC_MAX_PAYLOAD - tail_len) {
        errno = EMSGSIZE;
        return -1;
    }
    uint32_t len = (uint32_t)(in_head + tail_len);
    uint8_t *h = (uint8_t *)buf_ptr(head) + start;
    h[0] = (uint8_t)len;
    h[1] = (uint8_t)(len >> 8);
    h[2] = (uint8_t)(len >> 16);
    h[3] = (uint8_t)(len >> 24);

    struct iovec iov[2] = {
        {.iov_base = h, .iov_len = head->len - (size_t)start},
        {.iov_base = (void *)tail, .iov_len = tail_len},
    };
    write_all(iov, tail_len ? 2 : 1, hooks);
    return 0;
}

int channel_send_empty(uint16_t type, uint32_t id, const channel_block_hooks_t *hooks)
{
    buf_t b = BUF_INIT;
    long start = ipc_begin_frame(&b, type, id);
    int rc = start < 0 ? -1 : channel_send_frame(&b, start, NULL, 0, hooks);
    buf_free(&b);
    return rc;
}
