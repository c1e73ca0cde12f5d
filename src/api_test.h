/* The `gaelic_test` API service: a test double that only the hidden serve
 * flag --api_test_service turns on, so the integration tests can hold calls
 * open and make a service fail on purpose:
 *
 *   Delay  Integer32Proto{value: ms, 0..600000} -> VoidProto, answered
 *          after that long from the event loop (an asynchronous handler)
 *   Rendezvous  {1: n, 1..100; 2: key, at most 64 bytes} -> {1: n},
 *          answered once n calls with the same n and key are waiting
 *          together (a caller that gives up leaves the group): proof
 *          that a caller had n calls in flight at once
 *   Echo   any bytes -> the same bytes
 *   Fail   an ApplicationError-shaped message {1: code, 2: detail} ->
 *          that ApplicationError */
#ifndef GAELIC_API_TEST_H
#define GAELIC_API_TEST_H

#include "api_service.h"

int api_test_register(api_registry_t *reg);

#endif
