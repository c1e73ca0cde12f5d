#include "api_services.h"

#include "api_system.h"
#include "api_test.h"

api_registry_t *api_services_new(int test_service)
{
    api_registry_t *reg = api_registry_new();
    if (!reg || api_system_register(reg) < 0 || (test_service && api_test_register(reg) < 0)) {
        api_registry_free(reg);
        return NULL;
    }
    return reg;
}
