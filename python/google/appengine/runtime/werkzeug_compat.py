"""Werkzeug 0.x top-level names for python27 apps on Debian's Werkzeug 2.

App Engine's python27 runtime let apps import Werkzeug 0.11 unlisted, and
that Werkzeug exported its API from the package itself: `from werkzeug
import secure_filename` was how Flask's documentation of the time
imported it. Werkzeug 1.0 dropped those names from the package (they stay
in its submodules), so such an app failed as it imported. Each is looked
up again, on first use, in the submodule that has it now; a name Werkzeug
removed altogether stays an AttributeError.
"""
from google.appengine.runtime import import_hooks

# What Werkzeug 0.x exported from the package, but for the few names
# Werkzeug 2 has nowhere (Href, validate_arguments and its kin).
_OLD_NAMES = frozenset("""
    DebuggedApplication Local LocalManager LocalProxy LocalStack release_local
    run_simple Client EnvironBuilder create_environ run_wsgi_app abort Aborter
    url_decode url_encode url_quote url_quote_plus url_unquote url_unquote_plus
    url_fix iri_to_uri uri_to_iri parse_form_data environ_property
    append_slash_redirect redirect cached_property import_string dump_cookie
    parse_cookie find_modules header_property secure_filename get_current_url
    get_host pop_path_info peek_path_info SharedDataMiddleware
    DispatcherMiddleware ClosingIterator FileWrapper make_line_iter
    LimitedStream responder wrap_file extract_path_info MultiDict
    CombinedMultiDict Headers EnvironHeaders ImmutableList ImmutableDict
    ImmutableMultiDict TypeConversionDict ImmutableTypeConversionDict Accept
    MIMEAccept CharsetAccept LanguageAccept RequestCacheControl
    ResponseCacheControl ETags HeaderSet WWWAuthenticate Authorization
    FileMultiDict CallbackDict FileStorage OrderedMultiDict
    ImmutableOrderedMultiDict parse_etags parse_date http_date
    parse_cache_control_header is_resource_modified parse_accept_header
    parse_set_header quote_etag unquote_etag generate_etag dump_header
    parse_list_header parse_dict_header parse_authorization_header
    parse_www_authenticate_header remove_entity_headers is_entity_header
    remove_hop_by_hop_headers parse_options_header dump_options_header
    is_hop_by_hop_header unquote_header_value quote_header_value
    HTTP_STATUS_CODES generate_password_hash check_password_hash
""".split())

# Where Werkzeug 2 keeps them, cheapest to import first.
_SUBMODULES = ("utils", "datastructures", "http", "urls", "security", "exceptions", "wsgi",
               "formparser", "local", "test", "middleware.shared_data",
               "middleware.dispatcher", "debug")


def _add_old_names(werkzeug):
    if "__getattr__" in vars(type(werkzeug)):
        return  # Werkzeug 0.x's own module type resolves these names itself
    # Werkzeug 2.3 and later answer a few deprecated names (__version__)
    # from a module __getattr__ of their own: asked after ours.
    later = vars(werkzeug).get("__getattr__")

    def __getattr__(name):
        if name in _OLD_NAMES:
            import importlib  # not at the top: it is off the cold start
            for sub in _SUBMODULES:
                module = importlib.import_module("werkzeug." + sub)
                if name in vars(module):
                    value = vars(module)[name]
                    setattr(werkzeug, name, value)
                    return value
        if later is not None:
            return later(name)
        raise AttributeError("module 'werkzeug' has no attribute %r" % name)

    werkzeug.__getattr__ = __getattr__


def install():
    import_hooks.when_imported("werkzeug", _add_old_names)
