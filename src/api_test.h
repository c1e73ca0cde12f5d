/* The `gaelic_test` API service: a test double that only the hidden serve
 * flag --api_test_service turns on, so the integration tests can hold calls
 * open and make a service fail on purpose:
 *
 *   Delay  Integer32Proto{value: ms, 0..600000} -> VoidProto, answered
 *          after that long from the event loop (an asynchronous handler)
 *   Echo   any bytes -> the same bytes
 *   Fail   an ApplicationError-shaped message {1: code, 2: detail} ->
 *          that ApplicationError */
#ifndef GAELIC_API_TEST_H
#define GAELIC_API_TEST_H

#include "api_service.h"

int api_test_register(api_registry_t *reg);

#endif
