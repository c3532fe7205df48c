"""``dockyard`` with no arguments opens the window; with a command it runs the CLI."""

from __future__ import annotations

import gc
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):  # at once: no parser, no command module imported
        from dockyard import version_line

        print(version_line())
        return 0
    if args == ["_pipeline-child"]:  # the window runs each pipeline in such a child
        from dockyard.engine.pipeline.runprocess import child_main

        return child_main()
    if not args or (args[0].startswith("-") and args[0] not in ("-h", "--help", "--version", "-V")):
        from dockyard.ui.app import run_window

        return run_window(args)
    from dockyard.cli import main as cli_main

    code = cli_main(args)
    # The process ends now and its memory with it: frozen, its objects are left out of
    # the collections the interpreter makes as it exits, which visit every one (about
    # 10 ms after a command, 35 ms with team mode's psycopg loaded). Still closed and
    # flushed as usual: files, connections and whatever ``atexit`` holds.
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(main())
