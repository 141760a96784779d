"""eo_jlab: Earth Observation platform tools for JupyterLab."""

try:
    from ._version import __version__
except ImportError:  # running from a source tree that was never installed
    __version__ = "0.0.0.dev0"


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "eo_jlab"}]


def _jupyter_server_extension_points():
    from .app import EOJLabApp

    return [{"module": "eo_jlab.app", "app": EOJLabApp}]
