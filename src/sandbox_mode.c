#include "sandbox_mode.h"

#include <string.h>

static const char *const mode_names[] = {"strict", "dev", "off"};

int sandbox_mode_parse(const char *s, sandbox_mode_t *mode)
{
    for (int i = 0; i < 3; i++) {
        if (!strcmp(s, mode_names[i])) {
            *mode = (sandbox_mode_t)i;
            return 0;
        }
    }
    return -1;
}

const char *sandbox_mode_name(sandbox_mode_t mode)
{
    return mode_names[mode];
}

const char *sandbox_strict_refusal(int seccomp, int landlock, int own_tree)
{
    if (!seccomp)
        return "this kernel has no seccomp filters";
    if (!landlock && !own_tree)
        return "neither Landlock nor the instances' own read-only file tree is available, so "
               "only the Python layer would keep apps from writing and reading files";
    return NULL;
}
