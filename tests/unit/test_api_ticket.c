/* API tickets (src/api_ticket.c): issued values, lookups that must find
 * nothing (forged, malformed, ended), and the table growing under many
 * live tickets. */
#include <ctype.h>
#include <stdlib.h>

#include "api_ticket.h"
#include "unit.h"

#define MANY 3000

static int all_lower_hex(const char *s)
{
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
            return 0;
    return 1;
}

static void test_issue_find_revoke(void)
{
    api_tickets_t *t = api_tickets_new();
    api_ticket_t a = {0}, b = {0};
    int target_a, target_b;
    static const api_ticket_ops_t ops = {NULL, NULL};
    CHECK(api_tickets_issue(t, &a, &target_a, &ops) == 0);
    CHECK(api_tickets_issue(t, &b, &target_b, &ops) == 0);
    CHECK(strlen(a.hex) == API_TICKET_HEX && all_lower_hex(a.hex));
    CHECK(strcmp(a.hex, b.hex) != 0);
    CHECK(api_tickets_count(t) == 2);
    api_ticket_t *f = api_tickets_find(t, a.hex, strlen(a.hex));
    CHECK(f == &a && f->target == &target_a && f->ops == &ops);
    CHECK(api_tickets_find(t, b.hex, API_TICKET_HEX) == &b);

    /* Not the exact spelling of a live ticket: nothing. */
    char forged[API_TICKET_HEX + 2];
    memcpy(forged, a.hex, sizeof a.hex);
    forged[5] = forged[5] == '0' ? '1' : '0';
    CHECK(api_tickets_find(t, forged, API_TICKET_HEX) == NULL);
    memcpy(forged, a.hex, sizeof a.hex);
    for (char *p = forged; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    int has_letter = strpbrk(a.hex, "abcdef") != NULL;
    CHECK(!has_letter || api_tickets_find(t, forged, API_TICKET_HEX) == NULL);
    CHECK(api_tickets_find(t, a.hex, API_TICKET_HEX - 1) == NULL);
    memcpy(forged, a.hex, sizeof a.hex);
    forged[API_TICKET_HEX] = '0';
    CHECK(api_tickets_find(t, forged, API_TICKET_HEX + 1) == NULL);
    memcpy(forged, a.hex, sizeof a.hex);
    forged[0] = 'g';
    CHECK(api_tickets_find(t, forged, API_TICKET_HEX) == NULL);
    forged[0] = '\0';
    CHECK(api_tickets_find(t, forged, API_TICKET_HEX) == NULL);
    CHECK(api_tickets_find(t, NULL, 0) == NULL);
    CHECK(api_tickets_find(t, "", 0) == NULL);

    /* Ended: its value finds nothing, even though it was real. */
    char old[API_TICKET_HEX + 1];
    memcpy(old, a.hex, sizeof old);
    api_tickets_revoke(t, &a);
    CHECK(a.hex[0] == '\0' && a.target == NULL);
    CHECK(api_tickets_find(t, old, API_TICKET_HEX) == NULL);
    CHECK(api_tickets_find(t, b.hex, API_TICKET_HEX) == &b);
    CHECK(api_tickets_count(t) == 1);
    api_tickets_revoke(t, &a); /* twice: nothing */
    CHECK(api_tickets_count(t) == 1);

    /* Issued again, the same slot gets a new value. */
    CHECK(api_tickets_issue(t, &a, &target_a, &ops) == 0);
    CHECK(strcmp(a.hex, old) != 0);
    CHECK(api_tickets_find(t, old, API_TICKET_HEX) == NULL);
    CHECK(api_tickets_find(t, a.hex, API_TICKET_HEX) == &a);
    api_tickets_revoke(t, &a);
    api_tickets_revoke(t, &b);
    CHECK(api_tickets_count(t) == 0);
    api_tickets_free(t);
}

static int cmp_hex(const void *x, const void *y)
{
    return strcmp(((const api_ticket_t *)x)->hex, ((const api_ticket_t *)y)->hex);
}

static void test_many(void)
{
    api_tickets_t *t = api_tickets_new();
    api_ticket_t *tk = calloc(MANY, sizeof *tk);
    int ok = 1;
    for (int i = 0; i < MANY; i++)
        ok &= api_tickets_issue(t, &tk[i], &tk[i], NULL) == 0;
    CHECK(ok);
    CHECK(api_tickets_count(t) == MANY);
    /* Every one found after the table grew. */
    ok = 1;
    for (int i = 0; i < MANY; i++)
        ok &= api_tickets_find(t, tk[i].hex, API_TICKET_HEX) == &tk[i];
    CHECK(ok);
    /* Half of them end; the others stay. */
    for (int i = 0; i < MANY; i += 2)
        api_tickets_revoke(t, &tk[i]);
    CHECK(api_tickets_count(t) == MANY / 2);
    ok = 1;
    for (int i = 1; i < MANY; i += 2)
        ok &= api_tickets_find(t, tk[i].hex, API_TICKET_HEX) == &tk[i];
    CHECK(ok);
    for (int i = 1; i < MANY; i += 2)
        api_tickets_revoke(t, &tk[i]);
    CHECK(api_tickets_count(t) == 0);

    /* No two values alike among MANY fresh ones. */
    for (int i = 0; i < MANY; i++)
        api_tickets_issue(t, &tk[i], NULL, NULL);
    api_ticket_t *sorted = malloc(MANY * sizeof *sorted);
    memcpy(sorted, tk, MANY * sizeof *sorted);
    qsort(sorted, MANY, sizeof *sorted, cmp_hex);
    int dup = 0;
    for (int i = 1; i < MANY; i++)
        dup |= strcmp(sorted[i - 1].hex, sorted[i].hex) == 0;
    CHECK(!dup);
    free(sorted);
    for (int i = 0; i < MANY; i++)
        api_tickets_revoke(t, &tk[i]);
    free(tk);
    api_tickets_free(t);
}

int main(void)
{
    test_issue_find_revoke();
    test_many();
    UNIT_DONE();
}
