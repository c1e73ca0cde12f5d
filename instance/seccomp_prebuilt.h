/* The instances' seccomp filter, compiled when gaelic is built: the
 * zygote would otherwise spend some 3 ms of CPU on it at every start,
 * beside Python's own start-up, on a core the master is also using. */
#ifndef GAELIC_SECCOMP_PREBUILT_H
#define GAELIC_SECCOMP_PREBUILT_H

#include <linux/filter.h>
#include <stddef.h>

#include "sandbox_seccomp.h"

/* Written by tools/seccomp_prebuilt_gen.c into the build folder. */
extern const struct sock_filter seccomp_prebuilt_code[];
extern const size_t seccomp_prebuilt_len;
extern const int seccomp_prebuilt_chan_fd;

/* The filter for the spare's channel (SPARE_CHANNEL_FD), the pid left
 * open, as sandbox_seccomp_bpf(SPARE_CHANNEL_FD) gives it. NULL
 * with errno when it cannot be used: instances then build their own. */
seccomp_prog_t *seccomp_prebuilt(void);

#endif
