"""Dockyard: build, test, deliver and deploy Docker images from git repositories."""

try:  # written from git by the build (setuptools-scm); start-up never runs git
    from dockyard._version import __commit_id__, __version__
except ImportError:  # a source tree that was never built or installed
    __version__ = "0.0.0+unknown"
    __commit_id__ = None


def version_line() -> str:
    """What ``dockyard --version`` prints: ``dockyard 1.2.3 (commit 0123abcd)``."""
    commit = (__commit_id__ or "").removeprefix("g")
    return f"dockyard {__version__}" + (f" (commit {commit})" if commit else "")
