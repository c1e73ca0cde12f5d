/* The frames a second the master takes from one instance's channel. Each
 * frame costs the master's loop far more than it costs the instance to
 * write: 20-byte log frames, written 64 KiB at a time with os.write on
 * the channel's descriptor (no audit event), came at 10 million a second
 * from one F4 instance, and the master with its log writer spent both of
 * the host's CPUs on them while the static files it served fell from
 * 6,000 a second to 870. Past the rate, the instance's frames wait unread
 * until its second ends (its writes then block), as they wait while the
 * master's answers pile up (pool.c's CHANNEL_HOLD_MARK).
 *
 * An instance sends a frame for each answer, app log line, API call and
 * background thread. Answers are not counted (one instance serves some
 * 40,000 hello requests a second here); CPython's logging writes some
 * 20,000 lines a second, so the rate binds only an app that writes frames
 * itself, or prints hundreds of thousands of lines a second. */
#ifndef GAELIC_CHANNEL_RATE_H
#define GAELIC_CHANNEL_RATE_H

#include <stdint.h>

#define CHANNEL_FRAMES_PER_SECOND 100000u

typedef struct {
    uint64_t window_ms; /* start of the current second */
    uint32_t frames;    /* taken in it */
} channel_rate_t;

/* Takes one frame at now_ms: 0 when it is within the rate (it is counted),
 * else the milliseconds (at least 1) until the second ends, when it is. */
uint64_t channel_rate_take(channel_rate_t *r, uint64_t now_ms);

#endif
