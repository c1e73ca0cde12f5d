"""Symlinks in the app folder that lead outside it. App Engine's upload
followed them; instances here read only their own file tree, so the start
names each such link, and --follow_symlinks makes what they lead to
readable (read-only) to instances and to static handlers, and nothing
beside it."""
import os

from harness import run_gaelic, write_app

APP_YAML = """\
application: links
version: 1
runtime: python27
api_version: 1
threadsafe: true

handlers:
- url: /static
  static_dir: assets
- url: /.*
  script: main.app
"""

MAIN_PY = '''\
import urllib.parse


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/import":
        import shared_lib
        import linked_module
        body = "%s %s" % (shared_lib.WHERE, linked_module.WHERE)
    else:  # /try?path=: what reading or writing that path gives
        target = urllib.parse.unquote(environ["QUERY_STRING"].split("=", 1)[1])
        try:
            if environ.get("HTTP_X_WRITE"):
                open(target, "w").write("x")
                body = "wrote"
            else:
                body = "read " + open(target).read()
        except Exception as e:
            body = type(e).__name__
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
'''


def make(tmp_path):
    """An app with links to a folder, a file and a static folder outside it;
    returns (app folder, the shared folder)."""
    shared = tmp_path / "shared"
    (shared / "shared_lib").mkdir(parents=True)
    (shared / "shared_lib" / "__init__.py").write_text("WHERE = 'from the linked folder'\n")
    (shared / "module.py").write_text("WHERE = 'from the linked file'\n")
    (shared / "assets").mkdir()
    (shared / "assets" / "style.css").write_text("body { color: red }\n")
    # Beside the linked folders, never linked: instances must not see it.
    (tmp_path / "secret.txt").write_text("not for the app\n")
    app = write_app(tmp_path / "app", APP_YAML, {"main.py": MAIN_PY})
    os.symlink(str(shared / "shared_lib"), os.path.join(app, "shared_lib"))
    os.symlink("../shared/module.py", os.path.join(app, "linked_module.py"))
    os.symlink(str(shared / "assets"), os.path.join(app, "assets"))
    return app, shared


def test_links_outside_are_named_at_start(serve, tmp_path):
    app, shared = make(tmp_path)
    srv = serve(app)
    text = srv.stderr_text()
    for name, target in (("shared_lib", shared / "shared_lib"),
                         ("linked_module.py", shared / "module.py"),
                         ("assets", shared / "assets")):
        assert "%s/%s -> %s is outside the app folder" % (app, name, target) in text, text
    assert "--follow_symlinks" in text
    # Unfollowed, they are missing to the app and its static handler.
    assert srv.get("/import").status_code == 500
    assert srv.get("/static/style.css").status_code == 404


def test_follow_symlinks_reads_what_links_lead_to(serve, tmp_path):
    app, shared = make(tmp_path)
    srv = serve(app, "--follow_symlinks")
    assert "is outside the app folder" not in srv.stderr_text()
    r = srv.get("/import")
    assert (r.status_code, r.text) == (200, "from the linked folder from the linked file"), \
        srv.stderr_text()[-3000:]
    r = srv.get("/static/style.css")
    assert (r.status_code, r.text) == (200, "body { color: red }\n")
    # Through the link and at its own path, read-only.
    for path in ("shared_lib/__init__.py", str(shared / "shared_lib" / "__init__.py")):
        assert srv.get("/try", params={"path": path}).text.startswith("read WHERE"), path
        r = srv.get("/try", params={"path": path}, headers={"X-Write": "1"})
        assert r.text in ("PermissionError", "OSError"), (path, r.text)
    assert (shared / "shared_lib" / "__init__.py").read_text().startswith("WHERE")
    # What is beside the linked folders stays out of reach.
    for path in (str(tmp_path / "secret.txt"), str(shared / "assets" / ".." / ".." / "secret.txt")):
        r = srv.get("/try", params={"path": path})
        assert r.text in ("PermissionError", "FileNotFoundError"), (path, r.text)


def test_follow_symlinks_refuses_a_link_to_a_folder_holding_the_app(tmp_path):
    app, _ = make(tmp_path)
    os.symlink(str(tmp_path), os.path.join(app, "up"))
    r = run_gaelic("serve", app, "--port", "0", "--follow_symlinks")
    assert r.returncode == 2, r
    assert "%s/up -> %s: a link to a folder that holds the app cannot be followed" % (
        app, tmp_path) in r.stderr, r.stderr
    os.remove(os.path.join(app, "up"))
    os.symlink("/", os.path.join(app, "root"))
    r = run_gaelic("serve", app, "--port", "0", "--follow_symlinks")
    assert r.returncode == 2 and "root -> /: a link to a folder" in r.stderr, r.stderr
    os.remove(os.path.join(app, "root"))


def test_follow_symlinks_refuses_links_into_the_kernels_trees(tmp_path):
    """Another process's /proc entries or a raw disk are no app files."""
    app, _ = make(tmp_path)
    for target in ("/proc/1", "/dev/null", "/sys/kernel", "/run"):
        link = os.path.join(app, "kernel")
        os.symlink(target, link)
        r = run_gaelic("serve", app, "--port", "0", "--follow_symlinks")
        assert r.returncode == 2, (target, r)
        assert "kernel -> %s: a link into /proc, /sys, /dev or /run cannot be followed" % (
            os.path.realpath(target)) in r.stderr, r.stderr
        os.remove(link)


def test_follow_symlinks_takes_at_most_eight_places(tmp_path):
    app, _ = make(tmp_path)
    for i in range(7):  # 3 already: 10 distinct places
        d = tmp_path / ("extra%d" % i)
        d.mkdir()
        os.symlink(str(d), os.path.join(app, "extra%d" % i))
    r = run_gaelic("serve", app, "--port", "0", "--follow_symlinks")
    assert r.returncode == 2, r
    assert "--follow_symlinks takes links to at most 8 places outside the app folder" in r.stderr


LOADS_BZ2 = '''\
def app(environ, start_response):
    try:
        import _bz2
        body = "loaded"
    except ImportError as e:
        body = str(e)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
'''


def test_follow_symlinks_into_what_instances_read_anyway(serve, tmp_path):
    """Links into /usr (Python's C extensions) leave it as instances have
    it: bound again noexec, the standard library's extensions would not
    load."""
    import _bz2
    dynload = os.path.dirname(_bz2.__file__)
    assert dynload.startswith("/usr/"), dynload
    app = write_app(tmp_path / "app", APP_YAML, {"main.py": LOADS_BZ2})
    os.symlink(dynload, os.path.join(app, "assets"))
    os.symlink("/usr", os.path.join(app, "usr"))
    # The link to /usr is followed, but its files (far more than an app
    # may have) are left out, so they do not count against RT10's limits.
    with open(os.path.join(app, "app.yaml"), "a") as f:
        f.write("skip_files:\n- ^usr/.+$\n")
    srv = serve(app, "--follow_symlinks")
    assert srv.get("/").text == "loaded", srv.stderr_text()[-3000:]
    # Static handlers still follow the link.
    r = srv.get("/static/" + os.path.basename(_bz2.__file__))
    assert r.status_code == 200 and r.content == open(_bz2.__file__, "rb").read()


def test_follow_symlinks_refuses_a_link_through_another_link(tmp_path):
    """An instance's tree holds what a link leads to at its real path
    only: a link naming it through another link would dangle there."""
    app, shared = make(tmp_path)
    os.symlink(str(shared / "shared_lib"), str(tmp_path / "alias"))
    os.symlink(str(tmp_path / "alias"), os.path.join(app, "chained"))
    r = run_gaelic("serve", app, "--port", "0", "--follow_symlinks")
    assert r.returncode == 2, r
    assert "%s/chained -> %s: the link reaches this through another link" % (
        app, shared / "shared_lib") in r.stderr, r.stderr


def test_followed_folders_count_against_the_file_limits(serve, tmp_path):
    """App Engine's upload sent what a link led to as app files, and
    counted them (RT10): with --follow_symlinks, where instances read them,
    a linked folder's files count too; without it they are not the app's."""
    app, shared = make(tmp_path)
    with open(shared / "shared_lib" / "big.bin", "wb") as f:
        f.truncate(10 * 1024 * 1024 + 1)
    r = run_gaelic("serve", app, "--port", "0", "--follow_symlinks",
                   "--storage_path", tmp_path / "storage")
    assert r.returncode == 2, r
    assert "shared_lib/big.bin: 10485761 bytes, the limit for one file is 10485760" in r.stderr, \
        r.stderr
    os.remove(shared / "shared_lib" / "big.bin")
    for i in range(1000):
        (shared / "shared_lib" / ("m%04d.py" % i)).write_text("")
    r = run_gaelic("serve", app, "--port", "0", "--follow_symlinks",
                   "--storage_path", tmp_path / "storage")
    assert r.returncode == 2, r
    assert "files, the limit is 1000" in r.stderr, r.stderr
    srv = serve(app)
    assert srv.get("/try?path=main.py").status_code == 200
