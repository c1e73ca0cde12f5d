/* Frames from the instance to the master (ipc.h) on the channel socket.
 * Several worker threads answer at once, so every frame is written whole
 * under one mutex. If the master is gone (or killing us) a write fails and
 * the process exits at once with status 0: nobody is left to answer.
 *
 * Callers hold the GIL and pass hooks that release and re-take it: the
 * writer first tries to send without blocking, and gives up the GIL only if
 * it has to wait (for the mutex or for room in the socket). Releasing the
 * GIL around every small write made busy workers hand it back and forth,
 * costing more CPU than the request itself. */
#ifndef GAELIC_CHANNEL_WRITER_H
#define GAELIC_CHANNEL_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

void channel_writer_init(int fd);
/* 0 until channel_writer_init (a spare instance before it is assigned). */
int channel_writer_ready(void);

/* Sends one frame whose header was started with ipc_begin_frame(head, ...)
 * at offset `start` and whose payload is the rest of head followed by
 * tail_len bytes at tail (tail may be NULL when tail_len is 0). The payload
 * length in the header is patched here. Returns 0, or -1 (errno EMSGSIZE)
 * when the payload exceeds IPC_MAX_PAYLOAD; nothing is sent then. */
typedef struct {
    void *(*release)(void);    /* gives up the GIL, returns a token */
    void (*reacquire)(void *); /* takes it back */
} channel_block_hooks_t;

int channel_send_frame(buf_t *head, long start, const void *tail, size_t tail_len,
                       const channel_block_hooks_t *hooks);

/* A frame with an empty payload (IPC_READY). Returns 0, or -1 when memory
 * runs out. hooks as for channel_send_frame. */
int channel_send_empty(uint16_t type, uint32_t id, const channel_block_hooks_t *hooks);

#endif
