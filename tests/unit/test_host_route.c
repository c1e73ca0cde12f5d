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

static int addresses(const char *hostname, const char *host)
{
    return host_addresses_server(hostname, "0.0.0.0", host, host ? strlen(host) : 0);
}

/* --enable_host_checking: what a DNS-rebinding page sends is its own
 * site's name; IP addresses, localhost and --hostname are this server's. */
static void test_host_checking(void)
{
    static const char *const ours[] = {NULL,
                                       "",
                                       "localhost",
                                       "LOCALHOST:8080",
                                       "localhost.",
                                       "worker.localhost:80",
                                       "1.worker.my-app.localhost",
                                       "127.0.0.1",
                                       "127.0.0.1:8080",
                                       "192.168.1.20:8080",
                                       "[::1]",
                                       "[::1]:8080",
                                       "[fe80::1]",
                                       "example.test",
                                       "www.example.test:8443",
                                       "Example.Test."};
    static const char *const others[] = {"evil.example",
                                         "evil.example:8080",
                                         "localhost.evil.example",
                                         "notlocalhost",
                                         "xexample.test",
                                         "example.test.evil",
                                         "127.0.0.1.evil.example",
                                         "1.2.3",
                                         "[::1",
                                         ":8080",
                                         "example"};
    for (size_t i = 0; i < sizeof ours / sizeof *ours; i++) {
        CHECK(addresses("example.test", ours[i]));
        if (!addresses("example.test", ours[i]))
            fprintf(stderr, "  refused: %s\n", ours[i] ? ours[i] : "(none)");
    }
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        CHECK(!addresses("example.test", others[i]));
        if (addresses("example.test", others[i]))
            fprintf(stderr, "  taken: %s\n", others[i]);
    }
    /* --host given as a name: that name is the server's too. */
    CHECK(host_addresses_server("localhost", "mybox.lan", "MyBox.lan:8080", 14));
    CHECK(!host_addresses_server("localhost", "mybox.lan", "evil.example", 12));
    CHECK(!host_addresses_server("localhost", NULL, "mybox.lan", 9));
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
    test_host_checking();
    UNIT_DONE();
}
