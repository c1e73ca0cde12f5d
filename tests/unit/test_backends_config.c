/* backends.yaml (src/backends_config.c): defaults, every field, and a
 * FILE:LINE message for each kind of mistake, including BK9's limits. */
#include <stdlib.h>

#include "backends_config.h"
#include "unit.h"

static char err[1024];

static backends_config_t *load(const char *yaml, backend_tier_t tier)
{
    backends_config_t *cfg = NULL;
    err[0] = '\0';
    if (backends_config_load_string(yaml, strlen(yaml), "backends.yaml", tier, &cfg, err,
                                    sizeof err) < 0)
        return NULL;
    return cfg;
}

/* Loading fails and the message contains want. */
static void refused(const char *yaml, backend_tier_t tier, const char *want)
{
    backends_config_t *cfg = load(yaml, tier);
    CHECK(cfg == NULL);
    backends_config_free(cfg);
    if (!strstr(err, want)) {
        unit_failed++;
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err, want);
    } else {
        unit_passed++;
    }
}

static void test_full_and_defaults(void)
{
    backends_config_t *cfg = load("backends:\n"
                                  "- name: memdb\n"
                                  "  class: B8\n"
                                  "  instances: 5\n"
                                  "- name: crawler\n"
                                  "  instances: 3\n"
                                  "  max_concurrent_requests: 25\n"
                                  "  options: dynamic, failfast,public\n"
                                  "  start: crawler.start_app\n"
                                  "- name: worker-2\n"
                                  "  start: work/start.py\n",
                                  TIER_FREE);
    CHECK(cfg != NULL);
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK(cfg->n_backends == 3);
    const backend_t *b = backends_config_find(cfg, "memdb", 5);
    CHECK(b && b->cls == BACKEND_B8 && b->instances == 5 && !b->dynamic && !b->public_ &&
          !b->failfast && b->start == NULL && b->line == 2);
    CHECK(b && b->max_concurrent_requests == BACKEND_DEFAULT_MAX_CONCURRENT);
    b = backends_config_find(cfg, "crawler", 7);
    CHECK(b && b->cls == BACKEND_B2 && b->instances == 3 && b->max_concurrent_requests == 25);
    CHECK(b && b->dynamic && b->public_ && b->failfast);
    CHECK_STR(b ? b->start : NULL, "crawler.start_app");
    b = backends_config_find(cfg, "worker-2", 8);
    CHECK(b && b->instances == 1 && b->cls == BACKEND_B2);
    CHECK(backends_config_find(cfg, "worker", 6) == NULL);
    CHECK(backend_class_info(BACKEND_B4_1G)->memory_mb == 1024);
    CHECK(backend_class_info(BACKEND_B1)->cpu_mhz == 600);
    CHECK(backend_class_info(BACKEND_B8)->cents_per_hour == 40);
    backends_config_free(cfg);

    cfg = load("", TIER_FREE);
    CHECK(cfg && cfg->n_backends == 0);
    backends_config_free(cfg);
    cfg = load("backends: []\n", TIER_FREE);
    CHECK(cfg && cfg->n_backends == 0);
    backends_config_free(cfg);
}

static void test_errors(void)
{
    refused("backends:\n- class: B1\n", TIER_FREE, "backends.yaml:2:");
    refused("backends:\n- class: B1\n", TIER_FREE, "name");
    refused("backends:\n- name: a\n  class: B3\n", TIER_FREE,
            "backends.yaml:3: class: expected B1, B2, B4, B4_1G or B8, got 'B3'");
    refused("backends:\n- name: a\n  class: F2\n", TIER_FREE, "backends.yaml:3: class");
    refused("backends:\n- name: a\n  class: b4_1g\n", TIER_FREE, "backends.yaml:3: class");
    refused("backends:\n- name: Big\n", TIER_FREE, "lowercase letters, digits and hyphens");
    refused("backends:\n- name: a_b\n", TIER_FREE, "lowercase");
    refused("backends:\n- name: -a\n", TIER_FREE, "start or end with a hyphen");
    refused("backends:\n- name: '123'\n", TIER_FREE, "only digits");
    refused("backends:\n- name: a-dot-b\n", TIER_FREE, "-dot-");
    refused("backends:\n- name: a\n- name: b\n- name: a\n", TIER_FREE,
            "backends.yaml:4: backend 'a' is listed twice (first on line 2)");
    refused("backends:\n- name: a\n  instances: 0\n", TIER_FREE, "backends.yaml:3: instances");
    refused("backends:\n- name: a\n  instances: two\n", TIER_FREE, "whole number");
    refused("backends:\n- name: a\n  instances: 2.5\n", TIER_FREE, "whole number");
    /* As App Engine's int field read them: PyYAML's ints when plain,
     * Python's int() of the text when quoted. */
    static const struct {
        const char *value;
        int instances;
    } counts[] = {{"010", 8}, {"0x10", 16}, {"1_0", 10}, {"'010'", 10}, {"\" 7\"", 7}};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        char yaml[96];
        snprintf(yaml, sizeof yaml, "backends:\n- name: a\n  instances: %s\n", counts[i].value);
        backends_config_t *c = load(yaml, TIER_FREE);
        CHECK(c && c->n_backends == 1 && c->backends[0].instances == counts[i].instances);
        backends_config_free(c);
    }
    refused("backends:\n- name: a\n  max_concurrent_requests: 501\n", TIER_FREE, "1 to 500");
    refused("backends:\n- name: a\n  options: dynamic, sticky\n", TIER_FREE,
            "unknown backend option 'sticky'");
    refused("backends:\n- name: a\n  options: public, public\n", TIER_FREE, "given twice");
    /* backendinfo split the list at commas only, each item one option
     * (spaces around it aside): no space-separated words, no empty item. */
    refused("backends:\n- name: a\n  options: public dynamic\n", TIER_FREE,
            "unknown backend option 'public dynamic'");
    refused("backends:\n- name: a\n  options: public,\n", TIER_FREE, "unknown backend option ''");
    refused("backends:\n- name: a\n  options: ', public'\n", TIER_FREE,
            "unknown backend option ''");
    refused("backends:\n- name: a\n  options: public,, dynamic\n", TIER_FREE,
            "unknown backend option ''");
    refused("backends:\n- name: a\n  options: ' '\n", TIER_FREE, "unknown backend option ''");
    refused("backends:\n- name: a\n  options: \"public,\\tdynamic\"\n", TIER_FREE,
            "unknown backend option '?dynamic'");
    refused("backends:\n- name: a\n  start: not a script\n", TIER_FREE, "start 'not a script'");
    refused("backends:\n- name: a\n  start: \\1.app\n", TIER_FREE,
            "start '\\1.app' has a '\\': there is no url");
    refused("backends:\n- name: a\n  start: s/\\1.py\n", TIER_FREE, "there is no url");
    refused("backends:\n- name: a\n  instance: 3\n", TIER_FREE, "instance");
    refused("backend:\n- name: a\n", TIER_FREE, "backends.yaml:1:");
    refused("backends:\n- name: a\n  class: [B1]\n", TIER_FREE, "class");
    refused("backends: [\n", TIER_FREE, "backends.yaml:");
}

static void test_class_letter_in_either_case(void)
{
    /* backendinfo's pattern: [bB](1|2|4|8|4_1G). */
    backends_config_t *cfg = load("backends:\n- name: a\n  class: b4_1G\n- name: b\n"
                                  "  class: b1\n",
                                  TIER_FREE);
    CHECK(cfg && cfg->n_backends == 2 && cfg->backends[0].cls == BACKEND_B4_1G &&
          cfg->backends[1].cls == BACKEND_B1);
    backends_config_free(cfg);
}

static void test_options_spaced_or_empty(void)
{
    /* Spaces around an item are not part of it; an empty list is none. */
    backends_config_t *cfg = load("backends:\n- name: a\n  options: ' public ,  dynamic'\n"
                                  "- name: b\n  options: ''\n",
                                  TIER_FREE);
    CHECK(cfg && cfg->n_backends == 2 && cfg->backends[0].public_ && cfg->backends[0].dynamic &&
          !cfg->backends[0].failfast);
    CHECK(cfg && !cfg->backends[1].public_ && !cfg->backends[1].dynamic &&
          !cfg->backends[1].failfast);
    backends_config_free(cfg);
}

static void test_empty_backends_key(void)
{
    /* backendinfo: `backends:` with nothing under it is no backends. */
    const char *empty[] = {"backends:\n", "backends:\n# - name: a\n#   instances: 2\n",
                           "backends: ~\n", "backends: null\n"};
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        backends_config_t *cfg = load(empty[i], TIER_FREE);
        CHECK(cfg && cfg->n_backends == 0);
        backends_config_free(cfg);
    }
    refused("backends: ''\n", TIER_FREE, "expected a list");
    refused("backends:\nname: a\n", TIER_FREE, "unknown key 'name'");
}

static void test_keys_as_backendinfo_took_them(void)
{
    /* An optional key left empty is not given; state is checked only. */
    backends_config_t *cfg = load("backends:\n- name: a\n  class:\n  instances:\n"
                                  "  max_concurrent_requests:\n  options:\n  start:\n"
                                  "  state: STOP\n- name: b\n  state: DISABLED\n"
                                  "- name: c\n  state: START\n",
                                  TIER_FREE);
    CHECK(cfg && cfg->n_backends == 3);
    const backend_t *a = cfg ? &cfg->backends[0] : NULL;
    CHECK(a && a->cls == BACKEND_B2 && a->instances == BACKEND_DEFAULT_INSTANCES &&
          a->max_concurrent_requests == BACKEND_DEFAULT_MAX_CONCURRENT && !a->dynamic &&
          !a->public_ && !a->failfast && a->start == NULL);
    backends_config_free(cfg);
    refused("backends:\n- name: a\n  state: stopped\n", TIER_FREE, "state");
    refused("backends:\n- name:\n", TIER_FREE, "backends.yaml:2:");
}

static void test_tier_limits(void)
{
    const char *six = "backends:\n- name: a\n- name: b\n- name: c\n- name: d\n- name: e\n"
                      "- name: f\n";
    refused(six, TIER_FREE, "at most 5 per app");
    backends_config_t *cfg = load(six, TIER_PAID);
    CHECK(cfg && cfg->n_backends == 6);
    backends_config_free(cfg);

    refused("backends:\n- name: a\n  instances: 21\n", TIER_FREE,
            "backends.yaml:2: backend 'a': 21 instances; the free tier allows at most 20");
    cfg = load("backends:\n- name: a\n  instances: 200\n", TIER_PAID);
    CHECK(cfg != NULL);
    backends_config_free(cfg);
    refused("backends:\n- name: a\n  instances: 201\n", TIER_PAID, "at most 200");

    /* 10 GB of configured memory on the free tier: 10 x B8 is exactly it. */
    cfg = load("backends:\n- name: a\n  class: B8\n  instances: 10\n", TIER_FREE);
    CHECK(cfg != NULL);
    backends_config_free(cfg);
    refused("backends:\n- name: a\n  class: B8\n  instances: 10\n- name: b\n  class: B1\n",
            TIER_FREE, "10368 MB");
    cfg = load("backends:\n- name: a\n  class: B8\n  instances: 20\n- name: b\n", TIER_PAID);
    CHECK(cfg != NULL);
    backends_config_free(cfg);
}

int main(void)
{
    test_full_and_defaults();
    test_errors();
    test_class_letter_in_either_case();
    test_options_spaced_or_empty();
    test_empty_backends_key();
    test_keys_as_backendinfo_took_them();
    test_tier_limits();
    UNIT_DONE();
}
