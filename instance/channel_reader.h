/* The instance's one reader of the channel socket: a plain pthread that
 * never takes the GIL. It reads and validates frames from the master and
 * queues requests for the Python workers (request_queue.h), so a worker busy
 * in Python never delays noticing EOF, IPC_SHUTDOWN or later control frames.
 *
 * EOF or a read error means the master is gone or killing us: the process
 * exits with status 0 at once. A frame that breaks ipc.h (unknown type,
 * oversized, malformed payload) is logged to stderr and the process exits
 * with status 3. */
#ifndef GAELIC_CHANNEL_READER_H
#define GAELIC_CHANNEL_READER_H

/* Starts the reader thread on fd. Returns 0, or -1 with errno set. */
int channel_reader_start(int fd);

#endif
