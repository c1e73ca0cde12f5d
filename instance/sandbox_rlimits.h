/* The resource limits of an instance (SB4). */
#ifndef GAELIC_SANDBOX_RLIMITS_H
#define GAELIC_SANDBOX_RLIMITS_H

/* Lowers the calling process's limits: address space to memory_bytes
 * (skipped under AddressSanitizer, whose shadow memory needs terabytes of
 * address space; malloc then keeps to two arenas, so that the limit is
 * about memory rather than reservations), no core files, a bounded number of open files, no locked
 * memory or message queues, and a CPU-time backstop. Limits are only ever
 * lowered, soft and hard alike. Returns 0, or -1 with errno set. */
int sandbox_rlimits(unsigned long long memory_bytes);

/* 0 in sanitizer builds, where the address space is left unlimited. */
int sandbox_limits_address_space(void);

#endif
