#include "api_services.h"

#include "api_logservice.h"
#include "api_system.h"
#include "api_test.h"
#include "server.h"

api_registry_t *api_services_new(struct server *srv)
{
    api_registry_t *reg = api_registry_new();
    if (!reg || api_system_register(reg) < 0 || api_logservice_register(reg, srv) < 0 ||
        (srv->o.api_test_service && api_test_register(reg) < 0)) {
        api_registry_free(reg);
        return NULL;
    }
    return reg;
}
