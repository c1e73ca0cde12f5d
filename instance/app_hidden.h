/* Which files of the app folder the app may not read: those skip_files
 * leaves out and those static handlers serve without application_readable
 * (skip_files.h says which). One check for every layer that opens a file
 * for the app: the audit hook (audit_hook.h) and SQLite's VFSes
 * (sqlite_guard.h), which open files in C with no audit event. */
#ifndef GAELIC_APP_HIDDEN_H
#define GAELIC_APP_HIDDEN_H

/* From now on, files of app_dir that are not the app's code are hidden.
 * Called in the zygote, before any instance is forked. Returns 0, or -1
 * when app_dir does not resolve (or out of memory). */
int app_hidden_set_dir(const char *app_dir);

/* Why path (absolute, or relative to the working folder, the app's root)
 * is a hidden file of the app; NULL when it is not, or when no folder was
 * set. Thread-safe, and needs no Python: SQLite calls it without the GIL. */
const char *app_hidden_reason(const char *path);

/* 1 when path has no ".", ".." or empty part: its text says where it is,
 * but for symlinks. */
int app_hidden_plain_path(const char *path);

#endif
