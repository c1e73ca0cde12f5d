#include "threadsafe_override.h"

#include <string.h>
#include <strings.h>

#include "per_service_option.h"

/* A boolean: 1 or 0; -1 when it is none. */
static int boolean(const char *s, size_t len, const void *unused)
{
    (void)unused;
    static const char *const words[] = {"true", "yes", "1", "false", "no", "0"};
    for (int k = 0; k < 6; k++)
        if (strlen(words[k]) == len && strncasecmp(s, words[k], len) == 0)
            return k < 3;
    return -1;
}

int threadsafe_override_for(const char *value, const char *service, int *threadsafe, char *err,
                            size_t errlen)
{
    return per_service_option(value, service, boolean, NULL, threadsafe,
                              "true or false, also yes/no or 1/0, in any case; or "
                              "SERVICE:BOOL[,SERVICE:BOOL...]",
                              err, errlen);
}
