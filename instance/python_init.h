/* Starting the embedded interpreter in the zygote, before any fork. */
#ifndef GAELIC_PYTHON_INIT_H
#define GAELIC_PYTHON_INIT_H

/* Installs the (disarmed) sandbox audit hook, then initialises CPython
 * isolated from the environment: no site, no user site,
 * no bytecode writing, no signal handlers, UTF-8 mode, and sys.path fixed to
 * python_dir followed by the Debian stdlib. Registers `_gaelic` first.
 * Returns 0, or -1 after printing why. */
int python_init(const char *python_dir, int threads);

/* Lets the app import the given top-level modules (comma-separated) from
 * Debian's dist-packages and nothing else from there (app.yaml libraries:);
 * of the C extensions there, only theirs load, however the app reaches
 * them (audit_hook_allow_libraries). Returns 0, or -1 after printing why. */
int python_libraries(const char *modules);

/* Hides the app's files that are not its code from imports, CGI scripts
 * and open(), as App Engine never uploaded them with the code: those
 * app.yaml's skip_files excludes (skip_pattern, the combined regex) and
 * those static handlers serve without application_readable
 * (static_pattern); "" for none. Returns 0, or -1 after printing the
 * error. */
int python_skip_files(const char *skip_pattern, const char *static_pattern, const char *app_dir);

/* Imports the runtime so instances start warm, then collects and freezes
 * the GC heap so forked instances share it copy-on-write. Returns 0, or -1
 * after printing the Python error. */
int python_warm(void);

/* Imports the modules most apps use (after the first spare is forked, so a
 * cold start does not wait for them), unless the app in app_dir has modules
 * of the same names, then collects and freezes again. Returns 0, or -1
 * after printing the Python error. */
int python_preload(const char *app_dir);

/* The app's files changed (--automatic_restart): drops what
 * python_preload imported if the app now has modules of the same names.
 * 1 when it did (instances forked before hold them), 0 when not, -1 after
 * printing the Python error. */
int python_app_changed(const char *app_dir);

/* Writes the bytecode of the app's modules under app_root
 * (google/appengine/runtime/bytecode.py; run by the zygote's bytecode
 * writer). Failures to write are the module's to skip; 0, or -1 only after
 * printing a Python error. */
int python_app_bytecode_write(const char *app_root);

#endif
