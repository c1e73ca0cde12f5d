#include "channel_rate.h"

uint64_t channel_rate_take(channel_rate_t *r, uint64_t now_ms)
{
    if (now_ms - r->window_ms >= 1000) {
        r->window_ms = now_ms;
        r->frames = 0;
    }
    if (r->frames >= CHANNEL_FRAMES_PER_SECOND)
        return r->window_ms + 1000 - now_ms;
    r->frames++;
    return 0;
}
