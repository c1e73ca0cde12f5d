/* Reading the channel socket. Whoever holds the read role
 * (request_queue.h) calls channel_read or channel_read_nowait: a worker,
 * or the reader thread, a plain pthread that never takes the GIL and reads
 * only when no worker can, so that EOF, IPC_SHUTDOWN and later control
 * frames are noticed even while Python runs.
 *
 * EOF or a read error means the master is gone or killing us: the process
 * exits with status 0 at once. A frame that breaks ipc.h (unknown type,
 * oversized, malformed payload) is logged to stderr and the process exits
 * with status 3. */
#ifndef GAELIC_CHANNEL_READER_H
#define GAELIC_CHANNEL_READER_H

#include "request.h"

/* Starts the reader thread on fd. Returns 0, or -1 with errno set. */
int channel_reader_start(int fd);

/* With the read role held: reads and handles frames until at least one
 * was handled (blocking). Returns the first request read, or NULL if only
 * control frames came; further requests that arrived with it are queued. */
gaelic_request_t *channel_read(void);

/* Like channel_read but never blocks: one read of what the channel holds
 * now, and only whole frames are handled; the rest of a partial frame is
 * left to the next channel_read. For a worker holding the GIL. */
gaelic_request_t *channel_read_nowait(void);

#endif
