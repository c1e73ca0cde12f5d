#include "threadsafe_override.h"

#include "cli_args.h"
#include "per_service_option.h"

static int boolean(const char *s, size_t len, const void *unused)
{
    (void)unused;
    return cli_bool(s, len);
}

int threadsafe_override_for(const char *value, const char *service, int *threadsafe, char *err,
                            size_t errlen)
{
    return per_service_option(value, service, boolean, NULL, threadsafe,
                              "true or false, also yes/no or 1/0, in any case; or "
                              "SERVICE:BOOL[,SERVICE:BOOL...]",
                              err, errlen);
}
