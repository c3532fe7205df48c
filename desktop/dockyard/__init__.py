"""Dockyard: build, test, deliver and deploy Docker images from git repositories."""

__version__ = "0.1.0"
