"""The pipeline room: checkout, build, test, deliver, the child process that runs them, triggers."""
