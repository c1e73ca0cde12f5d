"""The `google` namespace of the gaelic runtime.

Other distributions (protobuf, for one) also install packages under
`google`; extending __path__ lets them be found beside ours when their
folders are on sys.path.
"""
__path__ = __import__("pkgutil").extend_path(__path__, __name__)
