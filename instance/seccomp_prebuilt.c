#include "seccomp_prebuilt.h"

seccomp_prog_t *seccomp_prebuilt(void)
{
    return sandbox_seccomp_from_code(seccomp_prebuilt_chan_fd, seccomp_prebuilt_code,
                                     seccomp_prebuilt_len);
}
