#include "sqlite_guard.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <sqlite3.h> /* types and constants only: the library is found at run time */
#include <stddef.h>
#include <string.h>

#include "app_hidden.h"

/* What Python's _sqlite3 links (ldd): dlopen by the same name finds the
 * copy it loads, or loads the one it will then find. */
#define SQLITE_SONAME "libsqlite3.so.0"

/* SQLite registers five VFSes (unix, unix-excl, unix-dotfile, unix-none,
 * memdb); a VFS found past this many fails every open instead. */
#define MAX_WRAPPED 32

typedef int (*xopen_t)(sqlite3_vfs *, const char *, sqlite3_file *, int, int *);

static int enabled;
static void *library;
static sqlite3_vfs *(*find_vfs)(const char *);
static sqlite3_mutex *(*mutex_alloc)(int);
static void (*mutex_enter)(sqlite3_mutex *);
static void (*mutex_leave)(sqlite3_mutex *);

/* Each wrapped VFS with its own xOpen. Entries are written once, under
 * SQLite's main mutex, and published by n_wrapped before the VFS's xOpen
 * points at guarded_open: an open running meanwhile finds its entry. */
static struct {
    sqlite3_vfs *vfs;
    xopen_t open;
} wrapped[MAX_WRAPPED];
static int n_wrapped;

static xopen_t original_open(const sqlite3_vfs *vfs)
{
    int n = __atomic_load_n(&n_wrapped, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++)
        if (wrapped[i].vfs == vfs)
            return wrapped[i].open;
    return NULL;
}

/* Every file SQLite opens by name: a main or attached database (by the
 * full path xFullPathname made of it), a journal, a WAL, a super-journal.
 * A hidden journal or WAL of a readable database is refused too: SQLite
 * would read pages out of it. No GIL is held here. */
static int guarded_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
                        int *out_flags)
{
    xopen_t open = original_open(vfs);
    if (!open || (name && app_hidden_reason(name))) {
        file->pMethods = NULL; /* so that SQLite does not call xClose */
        return SQLITE_PERM;
    }
    return open(vfs, name, file, flags, out_flags);
}

/* A VFS there was no room for: nothing opens through it. */
static int refused_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
                        int *out_flags)
{
    (void)vfs, (void)name, (void)flags, (void)out_flags;
    file->pMethods = NULL;
    return SQLITE_PERM;
}

/* dl_iterate_phdr's callback: 1 for the loaded libsqlite3. */
static int is_sqlite(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size, (void)data;
    const char *slash = strrchr(info->dlpi_name, '/');
    return slash && !strcmp(slash + 1, SQLITE_SONAME);
}

static int find_library(int load)
{
    if (library)
        return 0;
    /* Without load, the loaded objects are looked through first: an
     * RTLD_NOLOAD dlopen still searches the file system (35 us), on
     * every instance's start. */
    if (!load && !dl_iterate_phdr(is_sqlite, NULL))
        return 0;
    void *lib = dlopen(SQLITE_SONAME, RTLD_NOW | (load ? 0 : RTLD_NOLOAD));
    if (!lib)
        return load ? -1 : 0;
    find_vfs = (sqlite3_vfs * (*)(const char *)) dlsym(lib, "sqlite3_vfs_find");
    mutex_alloc = (sqlite3_mutex * (*)(int)) dlsym(lib, "sqlite3_mutex_alloc");
    mutex_enter = (void (*)(sqlite3_mutex *))dlsym(lib, "sqlite3_mutex_enter");
    mutex_leave = (void (*)(sqlite3_mutex *))dlsym(lib, "sqlite3_mutex_leave");
    if (!find_vfs || !mutex_alloc || !mutex_enter || !mutex_leave)
        return -1;
    library = lib; /* never closed: _sqlite3 holds it anyway */
    return 0;
}

int sqlite_guard_wrap(int load)
{
    if (!enabled)
        return 0;
    if (find_library(load) < 0)
        return -1;
    if (!library)
        return 0;
    /* find_vfs initialises SQLite, which registers its VFSes, before the
     * lock: the list is SQLite's main mutex's to guard. */
    sqlite3_vfs *first = find_vfs(NULL);
    sqlite3_mutex *lock = mutex_alloc(SQLITE_MUTEX_STATIC_MAIN);
    if (!first || !lock)
        return -1;
    mutex_enter(lock);
    for (sqlite3_vfs *vfs = first; vfs; vfs = vfs->pNext) {
        if (vfs->xOpen == guarded_open || vfs->xOpen == refused_open)
            continue;
        xopen_t replacement = refused_open;
        if (n_wrapped < MAX_WRAPPED) {
            wrapped[n_wrapped].vfs = vfs;
            wrapped[n_wrapped].open = vfs->xOpen;
            __atomic_store_n(&n_wrapped, n_wrapped + 1, __ATOMIC_RELEASE);
            replacement = guarded_open;
        }
        __atomic_store_n(&vfs->xOpen, replacement, __ATOMIC_RELEASE);
    }
    mutex_leave(lock);
    return 0;
}

int sqlite_guard_enable(void)
{
    enabled = 1;
    return sqlite_guard_wrap(0);
}

int sqlite_guard_enabled(void)
{
    return enabled;
}
