"""The endpoints room: Docker daemons (unix, tcp+TLS, ssh, contexts) and registry credentials."""
