/* Sending and receiving zy_msg_t (zygote_proto.h) on the SOCK_SEQPACKET
 * socket, with at most one file descriptor attached as SCM_RIGHTS. */
#ifndef GAELIC_ZYGOTE_MSG_H
#define GAELIC_ZYGOTE_MSG_H

#include "zygote_proto.h"

/* Receives one message. *fd gets the attached descriptor (close-on-exec) or
 * -1. Returns 1 for a message, 0 at EOF, -1 on error with errno set (EPROTO
 * for a message of the wrong size or with more than one descriptor; any
 * descriptors that came with it are closed). */
int zy_recv(int sock, zy_msg_t *m, int *fd);

/* Sends one message, with fd attached when fd >= 0. Returns 0 or -1 with
 * errno set. Never raises SIGPIPE. */
int zy_send(int sock, const zy_msg_t *m, int fd);

#endif
