#!/bin/sh
# Builds the libFuzzer targets with clang (ASan+UBSan) into build-fuzz/ and
# runs each for FUZZ_SECONDS (default 60). Crashes (undefined behaviour in
# our code is one) land in build-fuzz/.
set -eu
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
out=build-fuzz
mkdir -p "$out/llhttp"
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE -Isrc -I/usr/share/include/llhttp"
for f in api http llhttp; do
    clang -g -O1 -fsanitize=fuzzer-no-link,address,undefined -I/usr/share/include/llhttp -w \
        -c /usr/share/llhttp/$f.c -o "$out/llhttp/$f.o"
done
# fuzz_http routes requests through the app in fuzz/static_app.
# shellcheck disable=SC2086
clang $CFLAGS -Iinstance -DFUZZ_STATIC_APP="\"$PWD/fuzz/static_app\"" fuzz/fuzz_http.c src/http.c \
    src/http_reason.c src/cgi_env.c src/ipc.c src/buf.c src/login.c src/md5.c src/secure_redirect.c \
    src/router.c src/static.c src/static_gzip.c src/gzip.c src/gzip_worker.c src/thread_jobs.c \
    src/loop.c src/config.c src/config_include.c src/gcloudignore.c src/gunicorn_args.c src/config_import_path.c src/python_regex.c src/yaml_tree.c src/instance_class.c \
    src/backends_config.c src/app_links.c src/log.c instance/audit_rules.c "$out"/llhttp/*.o \
    -lz -lyaml -lpcre2-8 -lpthread -o "$out/fuzz_http"
# shellcheck disable=SC2086
clang $CFLAGS fuzz/fuzz_config.c src/config.c src/config_include.c src/gcloudignore.c src/gunicorn_args.c src/config_import_path.c src/python_regex.c src/yaml_tree.c src/buf.c \
    src/instance_class.c src/backends_config.c -lyaml -lpcre2-8 \
    -o "$out/fuzz_config"
# shellcheck disable=SC2086
clang $CFLAGS fuzz/fuzz_backends_config.c src/backends_config.c src/config.c src/config_include.c src/gcloudignore.c src/gunicorn_args.c src/config_import_path.c src/python_regex.c \
    src/yaml_tree.c src/buf.c src/instance_class.c -lyaml -lpcre2-8 -o "$out/fuzz_backends_config"
# shellcheck disable=SC2086
clang $CFLAGS -Iinstance fuzz/fuzz_api.c src/api_service.c src/api_system.c src/api_logservice.c \
    src/log_read.c src/log_read_budget.c src/log_query.c src/log_store.c src/log.c src/pb.c src/buf.c \
    src/instance_stats.c src/proc_file.c src/loop.c -lsqlite3 -lpthread -o "$out/fuzz_api"
# The repo's own app.yaml and backends.yaml files seed the loaders' corpora.
mkdir -p "$out/corpus-fuzz_config" "$out/corpus-fuzz_backends_config"
for f in examples/*/app.yaml tests/integration/apps/*/app.yaml fuzz/static_app/app.yaml; do
    cp "$f" "$out/corpus-fuzz_config/seed-$(echo "$f" | tr / -)"
done
for f in examples/*/backends.yaml tests/integration/apps/*/backends.yaml; do
    [ -f "$f" ] && cp "$f" "$out/corpus-fuzz_backends_config/seed-$(echo "$f" | tr / -)"
done
/usr/bin/python3 fuzz/seeds_api.py "$out/corpus-fuzz_api"
/usr/bin/python3 fuzz/seeds_http.py "$out/corpus-fuzz_http"
status=0
for t in fuzz_http fuzz_config fuzz_backends_config fuzz_api; do
    mkdir -p "$out/corpus-$t"
    echo "fuzz: $t for ${secs}s"
    (cd "$out" && "./$t" -max_total_time="$secs" -print_final_stats=0 "corpus-$t") \
        >"$out/$t.log" 2>&1 || { status=1; tail -40 "$out/$t.log"; }
    grep -E "^#[0-9]+ +DONE|Done [0-9]+ runs" "$out/$t.log" | tail -1 || true
done
exit $status
