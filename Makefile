# gaelic build. `make` builds build/gaelic (the master) and build/gaelic-instance
# (the zygote and its instances, which embed CPython; the master runs it from
# its own folder); `make SAN=1` builds the ASan+UBSan variant in build-asan/.
# See README.md for run/test/bench.

CC        ?= gcc
PYCONFIG  := /usr/bin/python3.11-config
LLHTTP_SRC := /usr/share/llhttp
LLHTTP_INC := /usr/share/include/llhttp

ifeq ($(SAN),1)
BUILD     ?= build-asan
SANFLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT       := -O1
else
BUILD     ?= build
SANFLAGS  :=
OPT       := -O2
endif

PY_CFLAGS  := $(shell $(PYCONFIG) --includes 2>/dev/null)
PY_LDFLAGS := $(shell $(PYCONFIG) --embed --ldflags 2>/dev/null)

CPPFLAGS  := -D_GNU_SOURCE -Isrc -Iinstance -I$(LLHTTP_INC) $(PY_CFLAGS)
CFLAGS    := -std=gnu11 -Wall -Wextra -Werror -g $(OPT) $(SANFLAGS) -MMD -MP
LDFLAGS   := $(SANFLAGS)
MASTER_LIBS   := -lyaml -lpcre2-8 -lz -lsqlite3 -lseccomp -lpthread
INSTANCE_LIBS := -lpcre2-8 -lseccomp -lpthread $(PY_LDFLAGS)
LDLIBS    := $(MASTER_LIBS) $(PY_LDFLAGS)

SRC       := $(wildcard src/*.c) $(wildcard instance/*.c)
OBJ       := $(SRC:%.c=$(BUILD)/%.o)
# The master does not load libpython (a millisecond of every launch); it
# shares the sandbox's kernel probes, mode and path test and the zygote's
# messages with the instances, which share its message framing.
MASTER_OBJ := $(filter $(BUILD)/src/%,$(OBJ)) \
	$(addprefix $(BUILD)/instance/,audit_rules.o sandbox_landlock.o sandbox_mount.o \
	sandbox_rlimits.o sandbox_seccomp.o zygote_msg.o)
INSTANCE_OBJ := $(filter $(BUILD)/instance/%,$(OBJ)) \
	$(addprefix $(BUILD)/src/,ipc.o buf.o pb.o write_file.o sandbox_mode.o http_reason.o) \
	$(BUILD)/gen/seccomp_prebuilt.o
LLHTTP_OBJ := $(BUILD)/llhttp/api.o $(BUILD)/llhttp/http.o $(BUILD)/llhttp/llhttp.o
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps run unit test test-unit test-integration fuzz bench format clean

all: $(BUILD)/gaelic $(BUILD)/gaelic-instance $(BUILD)/python.stamp

deps:
	@scripts/deps.sh build

$(BUILD)/gaelic: $(MASTER_OBJ) $(LLHTTP_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(MASTER_LIBS)

$(BUILD)/gaelic-instance: $(INSTANCE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(INSTANCE_LIBS)

# The instances' seccomp filter, compiled here rather than at every start
# (instance/seccomp_prebuilt.h); made again when the rules or libseccomp
# change.
LIBSECCOMP := $(firstword $(wildcard /usr/lib/*/libseccomp.so.2 /lib/*/libseccomp.so.2))
$(BUILD)/tools/seccomp_prebuilt_gen: tools/seccomp_prebuilt_gen.c $(BUILD)/instance/sandbox_seccomp.o
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) -lseccomp

$(BUILD)/gen/seccomp_prebuilt.c: $(BUILD)/tools/seccomp_prebuilt_gen $(LIBSECCOMP)
	@mkdir -p $(dir $@)
	$< > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/seccomp_prebuilt.o: $(BUILD)/gen/seccomp_prebuilt.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The runtime's bytecode: instances never write .pyc files (the app folder
# is read-only to them), so without this every zygote start would compile
# the runtime from source.
PY_RUNTIME := $(shell find python -name '*.py')
$(BUILD)/python.stamp: $(PY_RUNTIME)
	/usr/bin/python3.11 -m compileall -q python
	@mkdir -p $(dir $@)
	@touch $@

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Third-party code from Debian's node-llhttp: compiled, never copied, and
# not held to our warning flags.
$(BUILD)/llhttp/%.o: $(LLHTTP_SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) -I$(LLHTTP_INC) $(OPT) -g $(SANFLAGS) -w -c -o $@ $<

# Each unit test links only the objects it tests: test_NAME_OBJS lists them.
# The app.yaml loader, with the instance classes it checks against.
CONFIG_OBJS := src/config.o src/config_include.o src/yaml_tree.o src/buf.o src/instance_class.o \
	src/backends_config.o src/gcloudignore.o src/gunicorn_args.o src/config_import_path.o \
	src/python_regex.o
test_config_OBJS := $(CONFIG_OBJS)
LLHTTP_REL := llhttp/api.o llhttp/http.o llhttp/llhttp.o
# The CGI environment asks the loader which runtimes are python3's.
CGI_ENV_OBJS := src/cgi_env.o $(CONFIG_OBJS)
test_http_OBJS := src/http.o src/http_reason.o $(CGI_ENV_OBJS) src/ipc.o src/buf.o $(LLHTTP_REL)
test_ipc_OBJS := src/ipc.o src/buf.o
test_gcloudignore_OBJS := $(CONFIG_OBJS)
test_router_OBJS := src/router.o $(CONFIG_OBJS)
test_backends_config_OBJS := $(CONFIG_OBJS)
test_host_route_OBJS := src/host_route.o $(CONFIG_OBJS)
test_backend_billing_OBJS := src/backend_billing.o
test_background_log_OBJS := src/background_log.o src/log_store.o src/app_identity.o src/log.o src/buf.o
test_control_OBJS := src/control.o src/loop.o src/log.o src/buf.o
test_log_OBJS := src/log.o
test_cgroup_tree_OBJS := src/cgroup_tree.o src/proc_start.o src/proc_file.o src/write_file.o
test_cgroup_mover_OBJS := src/cgroup_mover.o src/thread_jobs.o src/cpu_cap.o src/thread_cap.o src/cgroup_tree.o \
	src/proc_start.o src/proc_file.o src/write_file.o src/loop.o
test_cpu_cap_OBJS := src/cpu_cap.o src/cgroup_tree.o src/proc_start.o src/proc_file.o src/write_file.o
test_log_store_OBJS := src/log_store.o src/app_identity.o src/log.o src/buf.o
test_log_read_OBJS := src/log_read.o src/log_query.o src/log_store.o src/pb.o src/log.o src/buf.o
test_log_read_budget_OBJS := src/log_read_budget.o
test_channel_rate_OBJS := src/channel_rate.o
test_lost_requests_OBJS := src/lost_requests.o
test_libraries_OBJS := src/libraries.o $(CONFIG_OBJS)
test_login_OBJS := src/login.o src/log.o src/md5.o $(CGI_ENV_OBJS) src/ipc.o src/http.o src/http_reason.o \
	src/buf.o $(LLHTTP_REL)
test_audit_rules_OBJS := instance/audit_rules.o
test_sandbox_kernel_OBJS := instance/sandbox_seccomp.o instance/sandbox_landlock.o \
	instance/seccomp_prebuilt.o gen/seccomp_prebuilt.o
test_sandbox_old_libseccomp_OBJS := instance/sandbox_seccomp.o
test_sandbox_tree_OBJS := instance/sandbox.o instance/sandbox_mount.o instance/sandbox_landlock.o \
	instance/sandbox_seccomp.o instance/sandbox_privs.o instance/sandbox_rlimits.o \
	instance/audit_hook.o instance/audit_rules.o instance/skip_files.o instance/app_hidden.o \
	instance/sqlite_guard.o src/sandbox_mode.o \
	src/write_file.o
# static.c follows the app's links (app_links.c, with the audit hook's path test)
# and routes past a require_matching_file handler without its file (router.c).
STATIC_OBJS := src/static.o src/static_gzip.o src/thread_jobs.o src/loop.o src/gzip.o src/app_links.o instance/audit_rules.o \
	src/router.o
test_static_OBJS := $(STATIC_OBJS) $(CONFIG_OBJS) src/http.o src/http_reason.o src/log.o $(LLHTTP_REL)
test_secure_redirect_OBJS := src/secure_redirect.o $(CGI_ENV_OBJS) src/ipc.o src/http.o src/http_reason.o src/buf.o \
	$(LLHTTP_REL)
test_pb_OBJS := src/pb.o src/buf.o
test_gzip_worker_OBJS := src/gzip_worker.o src/thread_jobs.o src/gzip.o src/loop.o src/http.o src/http_reason.o src/buf.o $(LLHTTP_REL)
test_thread_jobs_OBJS := src/thread_jobs.o src/loop.o
test_instance_stats_OBJS := src/instance_stats.o src/proc_file.o
test_api_ticket_OBJS := src/api_ticket.o
test_api_http_OBJS := src/api_http.o $(CGI_ENV_OBJS) src/ipc.o src/api_ticket.o src/api_service.o src/api_system.o \
	src/api_test.o src/instance_stats.o src/proc_file.o src/http.o src/http_reason.o src/pb.o src/loop.o src/log.o src/buf.o \
	$(LLHTTP_REL)
test_api_channel_OBJS := src/api_channel.o src/api_service.o src/api_test.o src/pb.o src/ipc.o \
	src/loop.o src/log.o src/buf.o
test_error_pages_OBJS := src/error_pages.o $(STATIC_OBJS) $(CONFIG_OBJS) src/http.o src/http_reason.o src/log.o \
	$(LLHTTP_REL)

.SECONDEXPANSION:
$(BUILD)/tests/%: tests/unit/%.c $$(addprefix $(BUILD)/,$$($$*_OBJS))
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS)

unit: $(UNIT_BIN)

run: deps all
	$(BUILD)/gaelic serve examples/hello --port 8080

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory all unit
	@$(MAKE) --no-print-directory SAN=1 all unit
	@scripts/run-tests.sh

fuzz:
	@scripts/deps.sh test
	@scripts/fuzz.sh

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory all
	@/usr/bin/python3 bench/run.py

format:
	clang-format -i src/*.[ch] instance/*.[ch] tests/unit/*.[ch] fuzz/*.c tools/*.c

clean:
	rm -rf build build-asan build-fuzz
	find python -name __pycache__ -prune -exec rm -rf {} +

-include $(OBJ:.o=.d) $(BUILD)/gen/seccomp_prebuilt.d
