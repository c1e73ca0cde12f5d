/* Sending and receiving zy_msg_t (zygote_proto.h) on the SOCK_SEQPACKET
 * socket, with at most ZY_MAX_FDS file descriptors attached as SCM_RIGHTS. */
#ifndef GAELIC_ZYGOTE_MSG_H
#define GAELIC_ZYGOTE_MSG_H

#include "zygote_proto.h"

/* ZY_SPAWN's channel and output pipe. */
#define ZY_MAX_FDS 2

/* Receives one message. fds gets the attached descriptors in order
 * (close-on-exec), -1 past the last. Returns 1 for a message, 0 at EOF, -1
 * on error with errno set (EPROTO for a message of the wrong size or with
 * more than ZY_MAX_FDS descriptors; any descriptors that came with it are
 * closed). */
int zy_recv(int sock, zy_msg_t *m, int fds[ZY_MAX_FDS]);

/* Sends one message with fds[0..n) attached (n <= ZY_MAX_FDS). Returns 0 or
 * -1 with errno set. Never raises SIGPIPE. */
int zy_send(int sock, const zy_msg_t *m, const int *fds, int n);

#endif
