/* The Logs API Reads' memory budget (src/log_read_budget.c): shares,
 * first come first served, a waiter that leaves, a full queue, and an
 * admitted Read that gives its share back at once. */
#include <stdlib.h>

#include "log_read_budget.h"
#include "unit.h"

static log_read_budget_t budget;
static int order[16], n_admitted;
static int fail_on_admit; /* the next admit gives its share back at once */

typedef struct {
    log_read_waiter_t w;
    int id;
} reader_t;

static void admit(log_read_waiter_t *w)
{
    reader_t *r = (reader_t *)w;
    order[n_admitted++] = r->id;
    if (fail_on_admit) {
        fail_on_admit--;
        log_read_budget_release(&budget);
    }
}

static reader_t reader(int id, size_t bytes)
{
    reader_t r = {{admit, bytes, NULL, NULL, 0}, id};
    return r;
}

static void test_shares_then_fifo(void)
{
    log_read_budget_init(&budget, 2, 1000);
    n_admitted = 0;
    reader_t r[5];
    for (int i = 0; i < 5; i++)
        r[i] = reader(i, 10);
    CHECK(log_read_budget_enter(&budget, &r[0].w) == 1);
    CHECK(log_read_budget_enter(&budget, &r[1].w) == 1);
    CHECK(log_read_budget_enter(&budget, &r[2].w) == 0);
    CHECK(log_read_budget_enter(&budget, &r[3].w) == 0);
    CHECK(log_read_budget_enter(&budget, &r[4].w) == 0);
    CHECK(log_read_budget_waiting(&budget) == 3);
    CHECK(budget.waiting_bytes == 30);
    CHECK(n_admitted == 0); /* the first two were told by enter */
    log_read_budget_release(&budget);
    CHECK(n_admitted == 1 && order[0] == 2);
    log_read_budget_release(&budget);
    log_read_budget_release(&budget);
    CHECK(n_admitted == 3 && order[1] == 3 && order[2] == 4);
    CHECK(log_read_budget_waiting(&budget) == 0 && budget.waiting_bytes == 0);
    /* The last two give theirs back: both free again, nobody waits. */
    log_read_budget_release(&budget);
    log_read_budget_release(&budget);
    CHECK(budget.free_shares == 2);
}

static void test_leave(void)
{
    log_read_budget_init(&budget, 1, 1000);
    n_admitted = 0;
    reader_t a = reader(1, 10), b = reader(2, 20), c = reader(3, 30);
    CHECK(log_read_budget_enter(&budget, &a.w) == 1);
    CHECK(log_read_budget_enter(&budget, &b.w) == 0);
    CHECK(log_read_budget_enter(&budget, &c.w) == 0);
    log_read_budget_leave(&budget, &b.w); /* its deadline passed */
    CHECK(budget.waiting_bytes == 30 && log_read_budget_waiting(&budget) == 1);
    log_read_budget_leave(&budget, &b.w); /* not waiting: nothing */
    CHECK(budget.waiting_bytes == 30);
    log_read_budget_release(&budget);
    CHECK(n_admitted == 1 && order[0] == 3);
    log_read_budget_leave(&budget, &c.w); /* admitted: nothing */
    CHECK(budget.free_shares == 0);
    log_read_budget_release(&budget);
    CHECK(budget.free_shares == 1);
}

static void test_full_queue(void)
{
    log_read_budget_init(&budget, 1, 100);
    n_admitted = 0;
    reader_t a = reader(1, 0), big = reader(2, 500), b = reader(3, 60), c = reader(4, 50);
    CHECK(log_read_budget_enter(&budget, &a.w) == 1);
    /* Larger than the whole queue: it waits alone. */
    CHECK(log_read_budget_enter(&budget, &big.w) == 0);
    CHECK(log_read_budget_enter(&budget, &b.w) == -1);
    CHECK(!b.w.queued);
    log_read_budget_release(&budget);
    CHECK(n_admitted == 1 && order[0] == 2);
    CHECK(log_read_budget_enter(&budget, &b.w) == 0);
    CHECK(log_read_budget_enter(&budget, &c.w) == -1); /* 60 + 50 > 100 */
    CHECK(budget.waiting_bytes == 60);
    log_read_budget_release(&budget);
    CHECK(n_admitted == 2 && order[1] == 3);
    log_read_budget_release(&budget);
}

/* Reads whose start fails give their share back inside admit: the next
 * waiters are admitted in order, without recursion, and a share is never
 * counted twice. */
static void test_admit_gives_back(void)
{
    log_read_budget_init(&budget, 1, 1000);
    n_admitted = 0;
    reader_t first = reader(0, 1), r[4];
    CHECK(log_read_budget_enter(&budget, &first.w) == 1);
    for (int i = 0; i < 4; i++) {
        r[i] = reader(i + 1, 1);
        CHECK(log_read_budget_enter(&budget, &r[i].w) == 0);
    }
    fail_on_admit = 2;
    log_read_budget_release(&budget);
    CHECK(n_admitted == 3 && order[0] == 1 && order[1] == 2 && order[2] == 3);
    CHECK(budget.free_shares == 0 && log_read_budget_waiting(&budget) == 1);
    log_read_budget_release(&budget);
    CHECK(n_admitted == 4 && order[3] == 4);
    log_read_budget_release(&budget);
    CHECK(budget.free_shares == 1);
}

/* A newcomer never overtakes a waiter. */
static void test_no_overtaking(void)
{
    log_read_budget_init(&budget, 1, 1000);
    n_admitted = 0;
    reader_t a = reader(1, 1), b = reader(2, 1), c = reader(3, 1);
    CHECK(log_read_budget_enter(&budget, &a.w) == 1);
    CHECK(log_read_budget_enter(&budget, &b.w) == 0);
    log_read_budget_release(&budget); /* b's */
    CHECK(n_admitted == 1 && order[0] == 2);
    CHECK(log_read_budget_enter(&budget, &c.w) == 0);
    log_read_budget_release(&budget);
    CHECK(n_admitted == 2 && order[1] == 3);
    log_read_budget_release(&budget);
    CHECK(budget.free_shares == 1);
}

int main(void)
{
    test_shares_then_fifo();
    test_leave();
    test_full_queue();
    test_admit_gives_back();
    test_no_overtaking();
    UNIT_DONE();
}
