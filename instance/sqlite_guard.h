/* SQLite opens its files in C: the main database of a "file:" URI,
 * ATTACH DATABASE's (no audit event at all), their journals and WAL, on
 * whichever registered VFS a URI's "vfs=" picks. None of it passes the
 * audit hook, so this guard wraps the xOpen of every VFS of the
 * libsqlite3 that Python's _sqlite3 uses (the same loaded copy, by its
 * soname): a hidden file of the app (app_hidden.h) fails to open with
 * SQLITE_PERM, which the app sees as sqlite3.OperationalError. Temporary
 * files (no name) and the app's readable files open as before. It is a
 * layer of its own: the hook being armed or not changes nothing. */
#ifndef GAELIC_SQLITE_GUARD_H
#define GAELIC_SQLITE_GUARD_H

/* Turns the guard on for this process (an instance, once sandboxed, before
 * app code runs) and wraps SQLite's VFSes if the library is loaded
 * already. Returns 0, or -1 when it is loaded but cannot be wrapped. */
int sqlite_guard_enable(void);

/* Whether sqlite_guard_enable was called. */
int sqlite_guard_enabled(void);

/* Wraps every registered VFS not wrapped yet. load: loads libsqlite3 when
 * it is not loaded (called before _sqlite3 is, so that it never runs
 * unwrapped); otherwise an unloaded library has nothing to wrap. Returns
 * 0, or -1 when the library cannot be loaded or its VFSes found. */
int sqlite_guard_wrap(int load);

#endif
