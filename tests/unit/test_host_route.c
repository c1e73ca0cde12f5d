/* Host-header addressing of backends (src/host_route.c, BK7). */
#include "backends_config.h"
#include "host_route.h"
#include "unit.h"

static backends_config_t *cfg;

static host_route_t route(const char *host)
{
    host_route_t r;
    host_route(cfg, "my-app", "localhost", host, host ? strlen(host) : 0, &r);
    return r;
}

/* host routes to backend `name` (NULL: default version) and instance. */
static void expect(const char *host, host_route_kind_t kind, const char *name, int instance)
{
    host_route_t r = route(host);
    int ok = r.kind == kind && r.instance == instance &&
             (name ? r.backend && !strcmp(r.backend->name, name) : r.backend == NULL);
    if (ok) {
        unit_passed++;
    } else {
        unit_failed++;
        fprintf(stderr, "%s: got kind %d backend %s instance %d\n", host ? host : "(none)", r.kind,
                r.backend ? r.backend->name : "-", r.instance);
    }
}

int main(void)
{
    char err[512];
    const char *yaml = "backends:\n- name: memdb\n  instances: 3\n- name: crawler\n";
    if (backends_config_load_string(yaml, strlen(yaml), "backends.yaml", TIER_FREE, &cfg, err,
                                    sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    expect("localhost", HOST_DEFAULT, NULL, -1);
    expect("localhost:8080", HOST_DEFAULT, NULL, -1);
    expect("127.0.0.1:8080", HOST_DEFAULT, NULL, -1);
    expect("[::1]:8080", HOST_DEFAULT, NULL, -1);
    expect(NULL, HOST_DEFAULT, NULL, -1);
    expect("memdb.localhost", HOST_BACKEND, "memdb", -1);
    expect("memdb.localhost:8080", HOST_BACKEND, "memdb", -1);
    expect("MEMDB.LocalHost:8080", HOST_BACKEND, "memdb", -1);
    expect("memdb.localhost.", HOST_BACKEND, "memdb", -1);
    expect("memdb.my-app.localhost", HOST_BACKEND, "memdb", -1);
    expect("2.memdb.localhost", HOST_BACKEND, "memdb", 2);
    expect("0.memdb.my-app.localhost:80", HOST_BACKEND, "memdb", 0);
    expect("3.memdb.localhost", HOST_BACKEND, "memdb", 3);
    expect("99.memdb.my-app.localhost", HOST_BACKEND, "memdb", 99);
    expect("0.crawler.localhost", HOST_BACKEND, "crawler", 0);
    expect("1.crawler.localhost", HOST_BACKEND, "crawler", 1);
    /* The -dot- form. */
    expect("memdb-dot-my-app.localhost", HOST_BACKEND, "memdb", -1);
    expect("1-dot-memdb-dot-my-app.localhost:8080", HOST_BACKEND, "memdb", 1);
    expect("1-dot-memdb.localhost", HOST_BACKEND, "memdb", 1);
    expect("7-dot-memdb.localhost", HOST_BACKEND, "memdb", 7);
    /* Host names are case-insensitive, the separator too. */
    expect("1-DOT-MEMDB-Dot-My-App.LOCALHOST", HOST_BACKEND, "memdb", 1);
    expect("memdb-DOT-my-app.localhost", HOST_BACKEND, "memdb", -1);
    /* Not backend addresses: the default version. */
    expect("unknown.localhost", HOST_DEFAULT, NULL, -1);
    expect("memdb.other-app.localhost", HOST_DEFAULT, NULL, -1);
    expect("memdb.example.com", HOST_DEFAULT, NULL, -1);
    expect("memdblocalhost", HOST_DEFAULT, NULL, -1);
    expect("xlocalhost", HOST_DEFAULT, NULL, -1);
    expect(".localhost", HOST_DEFAULT, NULL, -1);
    expect("1.localhost", HOST_DEFAULT, NULL, -1);
    expect("memdb..localhost", HOST_DEFAULT, NULL, -1);
    expect("a.b.memdb.my-app.localhost", HOST_DEFAULT, NULL, -1);
    expect("1.memdb.my-app.extra.localhost", HOST_DEFAULT, NULL, -1);
    expect("memdb-dot-.localhost", HOST_DEFAULT, NULL, -1);
    expect("99999999.memdb.localhost", HOST_DEFAULT, NULL, -1);
    /* No backends at all: everything is the default version. */
    backends_config_t empty = {0};
    host_route_t r;
    host_route(&empty, "my-app", "localhost", "memdb.localhost", 15, &r);
    CHECK(r.kind == HOST_DEFAULT && r.backend == NULL);
    backends_config_free(cfg);
    UNIT_DONE();
}
