/* Messages between the master and the zygote, over a SOCK_SEQPACKET
 * socketpair (one message per packet, file descriptors as SCM_RIGHTS).
 *
 * The zygote is `gaelic-instance --app DIR --python DIR --threads N --fd FD`:
 * it has run Py_Initialize and imported the runtime, but no app code. For
 * each ZY_SPAWN it forks an instance that serves requests on the passed
 * channel fd (see ipc.h), and answers ZY_SPAWNED with the child's pid and a
 * pidfd for it (so the master can signal it without pid-reuse races). When
 * an instance exits the zygote reaps it and sends ZY_EXITED.
 *
 * A ZY_SPAWN's second fd, when there is one, is the write end of the
 * instance's own output pipe (child_output.h), which becomes its fds 1 and
 * 2; without it the instance keeps the zygote's.
 *
 * The zygote forks each instance ahead of time, as a spare, and says so
 * (ZY_FORKED with its pid) so that the master can put it into its cgroups
 * while it waits: a spare that never becomes an instance is reported by a
 * ZY_EXITED with instance_no 0.
 *
 * With --automatic_restart the master sends ZY_APP_CHANGED when the app's
 * files change, with the last instance_no it asked for: the zygote drops
 * the common modules it preloaded if the app now has modules of their names
 * (and its spare, which holds them), writes the app's bytecode again, and
 * answers ZY_APP_CHANGED with the same instance_no and status 1 when it
 * dropped them: the instances up to that number then hold modules the app
 * now shadows.
 */
#ifndef GAELIC_ZYGOTE_PROTO_H
#define GAELIC_ZYGOTE_PROTO_H

#include <stdint.h>

enum zy_type {
    ZY_SPAWN = 1,       /* master -> zygote, carries the channel fd [and output fd] */
    ZY_SPAWNED = 2,     /* zygote -> master, carries a pidfd when pid > 0 */
    ZY_EXITED = 3,      /* zygote -> master */
    ZY_FORKED = 4,      /* zygote -> master: a spare's pid */
    ZY_APP_CHANGED = 5, /* both ways, see above */
};

typedef struct {
    uint32_t type;
    uint32_t instance_no; /* the master's number for this instance */
    int32_t pid;          /* ZY_SPAWNED/ZY_EXITED/ZY_FORKED: the instance's pid */
    int32_t status;       /* ZY_SPAWNED: 0 or an errno; ZY_EXITED: wait status;
                             ZY_APP_CHANGED: 1 when the preloaded modules were dropped */
    char instance_id[64]; /* ZY_SPAWN: NUL-terminated INSTANCE_ID */
} zy_msg_t;

#endif
