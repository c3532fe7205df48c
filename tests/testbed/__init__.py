"""Real parts for the tests: a private dockerd, a registry, a base image, git repositories."""
