/* The audit hook's rules (instance/audit_rules.c): which events, open
 * modes, flags and imports are refused. */
#include <fcntl.h>
#include <linux/nsfs.h>
#include <linux/sockios.h>
#include <string.h>
#include <sys/ioctl.h>

#include "audit_rules.h"
#include "unit.h"

static void test_events(void)
{
    CHECK(audit_rule_for("open") == AUDIT_OPEN);
    CHECK(audit_rule_for("os.remove") == AUDIT_FS_WRITE);
    CHECK(audit_rule_for("os.rename") == AUDIT_FS_WRITE);
    CHECK(audit_rule_for("os.mkdir") == AUDIT_FS_WRITE);
    CHECK(audit_rule_for("socket.connect") == AUDIT_SOCKET);
    CHECK(audit_rule_for("socket.__new__") == AUDIT_SOCKET);
    CHECK(audit_rule_for("subprocess.Popen") == AUDIT_PROCESS);
    CHECK(audit_rule_for("os.posix_spawn") == AUDIT_PROCESS);
    CHECK(audit_rule_for("os.kill") == AUDIT_KILL);
    CHECK(audit_rule_for("import") == AUDIT_IMPORT);
    CHECK(audit_rule_for("ctypes.dlopen") == AUDIT_CTYPES);
    CHECK(audit_rule_for("ctypes.call_function") == AUDIT_CTYPES);
    CHECK(audit_rule_for("os.listdir") == AUDIT_READ_DIR);
    CHECK(audit_rule_for("os.scandir") == AUDIT_READ_DIR);
    CHECK(audit_rule_for("socket.socketpair") == AUDIT_SOCKET);
    CHECK(audit_rule_for("fcntl.fcntl") == AUDIT_SETOWN);
    CHECK(audit_rule_for("fcntl.ioctl") == AUDIT_SETOWN);
    CHECK(audit_rule_for("os.setpriority") == AUDIT_SCHED);
    CHECK(audit_rule_for("os.sched_setaffinity") == AUDIT_SCHED);
    CHECK(audit_rule_for("os.sched_setscheduler") == AUDIT_SCHED);
    CHECK(audit_rule_for("os.splice") == AUDIT_PIPE_PAGES);
    CHECK(audit_rule_for("os.sendfile") == AUDIT_PIPE_PAGES);
    CHECK(audit_rule_for("os.chdir") == AUDIT_CHDIR);
    CHECK(audit_rule_for("sqlite3.enable_load_extension") == AUDIT_SQLITE_EXTENSION);
    CHECK(audit_rule_for("sqlite3.load_extension") == AUDIT_SQLITE_EXTENSION);
    /* the stdlib's own marshal use and plain imports of socket stay */
    CHECK(audit_rule_for("marshal.loads") == AUDIT_ALLOW);
    CHECK(audit_rule_for("socket.gethostname") == AUDIT_ALLOW);
    CHECK(audit_rule_for("os") == AUDIT_ALLOW);
    CHECK(audit_rule_for("") == AUDIT_ALLOW);
}

static void test_open_modes(void)
{
    CHECK(!audit_open_writes("r", O_RDONLY | O_CLOEXEC));
    CHECK(!audit_open_writes("rb", O_RDONLY));
    CHECK(!audit_open_writes(NULL, O_RDONLY | O_DIRECTORY));
    CHECK(audit_open_writes("w", O_RDONLY)); /* the mode alone decides too */
    CHECK(audit_open_writes("a", 0));
    CHECK(audit_open_writes("x", 0));
    CHECK(audit_open_writes("r+", 0));
    CHECK(audit_open_writes(NULL, O_WRONLY));
    CHECK(audit_open_writes(NULL, O_RDWR));
    CHECK(audit_open_writes(NULL, O_RDONLY | O_CREAT));
    CHECK(audit_open_writes(NULL, O_RDONLY | O_TRUNC));
    CHECK(audit_open_writes(NULL, O_RDONLY | O_APPEND));
    CHECK(audit_open_writes(NULL, O_TMPFILE | O_RDWR));
}

static void test_folder_descriptors(void)
{
    /* os.open (no mode) of a folder, however asked for */
    CHECK(audit_opens_folder(NULL, O_RDONLY, 1));
    CHECK(audit_opens_folder(NULL, O_RDONLY | O_DIRECTORY, 1));
    CHECK(audit_opens_folder(NULL, O_PATH, 1));
    CHECK(audit_opens_folder(NULL, O_RDONLY | O_DIRECTORY, 0)); /* not there yet */
    /* a file, O_PATH too: no dir_fd can start from it */
    CHECK(!audit_opens_folder(NULL, O_RDONLY, 0));
    CHECK(!audit_opens_folder(NULL, O_PATH, 0));
    /* the builtin open() refuses folders itself */
    CHECK(!audit_opens_folder("r", O_RDONLY | O_CLOEXEC, 1));
}

static void test_file_owner(void)
{
    CHECK(!audit_sets_file_owner("fcntl.fcntl", F_SETFL, 42, 7));
    CHECK(!audit_sets_file_owner("fcntl.fcntl", F_SETOWN, 7, 7));
    CHECK(audit_sets_file_owner("fcntl.fcntl", F_SETOWN, 42, 7));
    CHECK(audit_sets_file_owner("fcntl.fcntl", F_SETOWN, -7, 7)); /* a process group */
    CHECK(audit_sets_file_owner("fcntl.fcntl", F_SETOWN_EX, 0, 7));
    CHECK(audit_sets_file_owner("fcntl.ioctl", FIOSETOWN, 0, 7));
    CHECK(audit_sets_file_owner("fcntl.ioctl", SIOCSPGRP, 0, 7));
    CHECK(!audit_sets_file_owner("fcntl.ioctl", F_SETOWN, 42, 7));
}

static void test_leases(void)
{
    CHECK(audit_takes_lease("fcntl.fcntl", F_SETLEASE));
    CHECK(!audit_takes_lease("fcntl.fcntl", F_GETLEASE));
    CHECK(!audit_takes_lease("fcntl.ioctl", F_SETLEASE));
}

static void test_socket_ioctls(void)
{
    CHECK(audit_socket_ioctl(SIOCGIFCONF));
    CHECK(audit_socket_ioctl(SIOCGIFHWADDR));
    CHECK(audit_socket_ioctl(0x8B01));       /* SIOCGIWNAME */
    CHECK(audit_socket_ioctl(0x100008912L)); /* the kernel reads 32 bits */
    CHECK(!audit_socket_ioctl(FIONREAD));
    CHECK(!audit_socket_ioctl(0x8A00));
    CHECK(audit_namespace_ioctl(NS_GET_USERNS));
    CHECK(audit_namespace_ioctl(0x8004b709L));  /* NS_GET_TGID_FROM_PIDNS */
    CHECK(audit_namespace_ioctl(0x10000b701L)); /* the kernel reads 32 bits */
    CHECK(!audit_namespace_ioctl(FIONREAD));
    CHECK(!audit_namespace_ioctl(0xb600));
}

static void test_imports(void)
{
    CHECK(audit_import_refused("json", NULL, NULL) == NULL);
    CHECK(audit_import_refused("socket", NULL, NULL) == NULL);
    CHECK(audit_import_refused("subprocess", NULL, NULL) == NULL);
    CHECK(audit_import_refused("_posixsubprocess", NULL, NULL) == NULL);
    CHECK(audit_import_refused("ctypes", NULL, NULL) != NULL);
    CHECK(audit_import_refused("ctypes.util", NULL, NULL) != NULL);
    CHECK(audit_import_refused("_ctypes", NULL, NULL) != NULL);
    CHECK(audit_import_refused("multiprocessing.pool", NULL, NULL) != NULL);
    /* a prefix of a refused name is another module */
    CHECK(audit_import_refused("ctypesx", NULL, NULL) == NULL);
    CHECK(audit_import_refused("pty2", NULL, NULL) == NULL);
    /* C extensions: the stdlib's and the listed libraries' load, the
     * app's and those of other Debian packages do not */
    const char *libs = "jinja2,markupsafe,yaml,_yaml,ujson";
    CHECK(audit_import_refused(
              "_decimal",
              "/usr/lib/python3.11/lib-dynload/_decimal.cpython-311-x86_64-linux-gnu.so",
              NULL) == NULL);
    CHECK(audit_import_refused("markupsafe._speedups",
                               "/usr/lib/python3/dist-packages/markupsafe/_speedups.so",
                               libs) == NULL);
    CHECK(audit_import_refused("yaml._yaml", "/usr/lib/python3/dist-packages/yaml/_yaml.so",
                               libs) == NULL);
    CHECK(audit_import_refused(
              "ujson", "/usr/lib/python3/dist-packages/ujson.cpython-311-x86_64-linux-gnu.so",
              libs) == NULL);
    const char *cffi =
        "/usr/lib/python3/dist-packages/_cffi_backend.cpython-311-x86_64-linux-gnu.so";
    CHECK(audit_import_refused("_cffi_backend", cffi, libs) != NULL);
    CHECK(audit_import_refused("_cffi_backend", cffi, NULL) != NULL);
    CHECK(audit_import_refused("_cffi_backend", cffi, "") != NULL);
    /* by its folder, whatever name it is loaded under */
    CHECK(audit_import_refused("markupsafe._speedups",
                               "/usr/lib/python3/dist-packages/markupsafe/_speedups.so",
                               "jinja2") != NULL);
    CHECK(audit_import_refused("yaml.x", "/usr/lib/python3/dist-packages/yamlx/x.so", libs) !=
          NULL);
    CHECK(audit_import_refused("ujso", "/usr/lib/python3/dist-packages/ujso.so", libs) != NULL);
    CHECK(audit_import_refused("numpy", "/usr/lib/python3/dist-packages/numpy", libs) != NULL);
    const char *dist_msg = audit_import_refused("_cffi_backend", cffi, libs);
    CHECK(dist_msg && strstr(dist_msg, "SB5") && strstr(dist_msg, "libraries:"));
    CHECK(audit_import_refused("evil", "/srv/app/evil.so", libs) != NULL);
    CHECK(audit_import_refused("evil", "/usr/lib/python3.11evil/x.so", libs) != NULL);
    CHECK(audit_import_refused("evil", "", libs) != NULL); /* realpath failed */
    /* refused stdlib extensions, loaded by hand (ExtensionFileLoader): the
     * name's last part picks the init function */
    const char *ctypes_so =
        "/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so";
    CHECK(audit_import_refused("_ctypes", ctypes_so, libs) != NULL);
    CHECK(audit_import_refused("x._ctypes", ctypes_so, libs) != NULL);
    CHECK(audit_import_refused("x.y._posixshmem", "/usr/lib/python3.11/lib-dynload/p.so", libs) !=
          NULL);
    /* CPython's test modules, which Debian ships beside the others */
    CHECK(audit_import_refused(
              "_testcapi",
              "/usr/lib/python3.11/lib-dynload/_testcapi.cpython-311-x86_64-linux-gnu.so",
              libs) != NULL);
    CHECK(audit_import_refused("_testinternalcapi", NULL, NULL) != NULL);
    CHECK(audit_import_refused("_json", "/usr/lib/python3.11/lib-dynload/_json.so", libs) == NULL);
    /* an app's pure-Python module may share a refused name's last part */
    CHECK(audit_import_refused("mypkg.pty", NULL, NULL) == NULL);
    const char *msg = audit_import_refused("evil", "/srv/app/evil.so", NULL);
    CHECK(msg && strstr(msg, "SB5"));
}

static void test_paths_within(void)
{
    const char *const roots[] = {"/srv/app", "/usr", "/etc/localtime", "/proc/42"};
    size_t n = sizeof roots / sizeof *roots;
    CHECK(audit_path_within("/srv/app", roots, n));
    CHECK(audit_path_within("/srv/app/main.py", roots, n));
    CHECK(audit_path_within("/usr/lib/python3.11/os.py", roots, n));
    CHECK(audit_path_within("/etc/localtime", roots, n));
    CHECK(audit_path_within("/proc/42/status", roots, n));
    /* a shared prefix is not a folder */
    CHECK(!audit_path_within("/srv/application/x", roots, n));
    CHECK(!audit_path_within("/usrx", roots, n));
    CHECK(!audit_path_within("/etc/localtime2", roots, n));
    CHECK(!audit_path_within("/proc/421/status", roots, n));
    CHECK(!audit_path_within("/etc/passwd", roots, n));
    CHECK(!audit_path_within("/srv", roots, n));
    CHECK(!audit_path_within("/", roots, n));
    CHECK(!audit_path_within("/srv/app", roots, 0));
    const char *const everything[] = {"/"};
    CHECK(audit_path_within("/etc/passwd", everything, 1));
    CHECK(audit_path_within("/", everything, 1));
}

static void test_sqlite_uris(void)
{
    char f[64];
    CHECK(audit_sqlite_uri_file("file:static/x.db?mode=ro", f, sizeof f) == 1);
    CHECK(!strcmp(f, "static/x.db"));
    CHECK(audit_sqlite_uri_file("file:///app/static/x.db#frag", f, sizeof f) == 1);
    CHECK(!strcmp(f, "/app/static/x.db"));
    CHECK(audit_sqlite_uri_file("file://localhost/app/x.db?vfs=unix-none", f, sizeof f) == 1);
    CHECK(!strcmp(f, "/app/x.db"));
    /* escapes are decoded, "%00" ends the path */
    CHECK(audit_sqlite_uri_file("file:st%61tic/x%2edb", f, sizeof f) == 1);
    CHECK(!strcmp(f, "static/x.db"));
    CHECK(audit_sqlite_uri_file("file:static/x.db%00.txt?mode=ro", f, sizeof f) == 1);
    CHECK(!strcmp(f, "static/x.db"));
    CHECK(audit_sqlite_uri_file("file:a%zz", f, sizeof f) == 1);
    CHECK(!strcmp(f, "a%zz"));
    /* no file: in memory, temporary, another host (SQLite refuses it), no URI */
    CHECK(audit_sqlite_uri_file("file::memory:?cache=shared", f, sizeof f) == 0);
    CHECK(audit_sqlite_uri_file("file:x.db?mode=memory&cache=shared", f, sizeof f) == 0);
    CHECK(audit_sqlite_uri_file("file:/x.db?vfs=memdb", f, sizeof f) == 0);
    CHECK(audit_sqlite_uri_file("file:?mode=ro", f, sizeof f) == 0);
    CHECK(audit_sqlite_uri_file("file://host/x.db", f, sizeof f) == 0);
    CHECK(audit_sqlite_uri_file("static/x.db", f, sizeof f) == 0);
    /* a parameter after "#" is no parameter */
    CHECK(audit_sqlite_uri_file("file:x.db#mode=memory", f, sizeof f) == 1);
    CHECK(audit_sqlite_uri_file("file:x.db?a=b#&mode=memory", f, sizeof f) == 1);
    /* too long for out */
    CHECK(audit_sqlite_uri_file("file:0123456789", f, 8) == 0);
}

static void test_messages(void)
{
    CHECK(strstr(audit_rule_message(AUDIT_READ), "SB1") != NULL);
    CHECK(strstr(audit_rule_message(AUDIT_READ_DIR), "SB1") != NULL);
    CHECK(strstr(audit_rule_message(AUDIT_OPEN), "SB1") != NULL);
    CHECK(strstr(audit_rule_message(AUDIT_FS_WRITE), "SB1") != NULL);
    CHECK(strstr(audit_rule_message(AUDIT_SOCKET), "SB2") != NULL);
    CHECK(strstr(audit_rule_message(AUDIT_PROCESS), "SB3") != NULL);
    CHECK(strstr(audit_rule_message(AUDIT_KILL), "SB3") != NULL);
    CHECK(strstr(audit_rule_message(AUDIT_CTYPES), "SB5") != NULL);
    CHECK(strstr(audit_rule_message(AUDIT_SETOWN), "SB3") != NULL);
    CHECK(strstr(audit_rule_message(AUDIT_SCHED), "SB4") != NULL);
    CHECK(strstr(audit_rule_message(AUDIT_DIR_FD), "SB1") != NULL);
    CHECK(strstr(audit_rule_message(AUDIT_PIPE_PAGES), "SB4") != NULL);
    CHECK(strstr(audit_rule_message(AUDIT_CHDIR), "SB5") != NULL);
    CHECK(strstr(audit_rule_message(AUDIT_SQLITE_EXTENSION), "SB5") != NULL);
}

int main(void)
{
    test_events();
    test_open_modes();
    test_folder_descriptors();
    test_file_owner();
    test_socket_ioctls();
    test_leases();
    test_imports();
    test_paths_within();
    test_sqlite_uris();
    test_messages();
    UNIT_DONE();
}
