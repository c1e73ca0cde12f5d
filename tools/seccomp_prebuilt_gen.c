/* Writes the instances' seccomp filter as C (seccomp_prebuilt.h) to
 * stdout: run by the build, so that no instance start compiles it. */
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>

#include "sandbox_seccomp.h"
#include "zygote_spare.h"

int main(void)
{
    size_t len = 0;
    struct sock_filter *code = sandbox_seccomp_bpf(SPARE_CHANNEL_FD, &len);
    if (!code) {
        perror("seccomp_prebuilt_gen: building the filter");
        return 1;
    }
    printf("/* Made by tools/seccomp_prebuilt_gen from instance/sandbox_seccomp.c\n"
           " * with this machine's libseccomp: do not edit. */\n"
           "#include \"seccomp_prebuilt.h\"\n\n"
           "const int seccomp_prebuilt_chan_fd = %d;\n"
           "const size_t seccomp_prebuilt_len = %zu;\n"
           "const struct sock_filter seccomp_prebuilt_code[] = {\n",
           SPARE_CHANNEL_FD, len);
    for (size_t i = 0; i < len; i++)
        printf("    {0x%04x, %u, %u, 0x%08x},\n", code[i].code, code[i].jt, code[i].jf, code[i].k);
    printf("};\n");
    free(code);
    return fflush(stdout) == 0 ? 0 : 1;
}
