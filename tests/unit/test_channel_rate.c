/* The frames a second taken from an instance's channel
 * (src/channel_rate.c): the rate's frames pass, the next waits for the
 * second's end, and a new second takes the rate again. */
#include "channel_rate.h"
#include "unit.h"

int main(void)
{
    channel_rate_t r = {0, 0};
    uint64_t now = 5000;
    uint32_t taken = 0;
    while (taken < CHANNEL_FRAMES_PER_SECOND && channel_rate_take(&r, now) == 0)
        taken++;
    CHECK(taken == CHANNEL_FRAMES_PER_SECOND);
    CHECK(channel_rate_take(&r, now + 400) == 600);
    CHECK(channel_rate_take(&r, now + 999) == 1);
    CHECK(r.frames == CHANNEL_FRAMES_PER_SECOND);
    CHECK(channel_rate_take(&r, now + 1000) == 0);
    CHECK(r.frames == 1 && r.window_ms == now + 1000);
    /* A second with no frames in it starts at the next frame. */
    CHECK(channel_rate_take(&r, now + 4321) == 0);
    CHECK(r.window_ms == now + 4321 && r.frames == 1);
    UNIT_DONE();
}
