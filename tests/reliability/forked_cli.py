"""The `uae` CLI, one forked child per command: the parent pays the imports (Dagster, MLflow, torch: ~8 s
on 2 cores) once, each child runs `uae_assets.cli.main` with its own environment, stdout and stderr, and
exits with the CLI's code, as a fresh process would. The catalogue's 32 cases take ~1 s each instead of ~9.

Protocol: one JSON line per request on stdin ({"argv", "env", "cwd"}), one JSON line per answer on stdout
({"returncode", "stdout", "stderr"}). Start it with `python -m tests.reliability.forked_cli`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile


def _child(request: dict, out_path: str, err_path: str) -> None:
    for fd, path in ((1, out_path), (2, err_path)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    from uae_assets.cli import main

    code = 1
    try:
        code = main(request["argv"])
    except SystemExit as exc:  # argparse: --help (0) and usage errors (2)
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve() -> None:
    import dagster  # noqa: F401  the heavy imports, once, before any fork
    import mlflow  # noqa: F401
    import sentence_transformers  # noqa: F401
    import torch  # noqa: F401

    import uae_assets.cli
    import uae_assets.definitions  # noqa: F401

    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # stray prints of the parent must not corrupt the protocol
    for line in sys.stdin:
        request = json.loads(line)
        with tempfile.TemporaryDirectory() as tmp:
            out_path, err_path = os.path.join(tmp, "out"), os.path.join(tmp, "err")
            pid = os.fork()
            if pid == 0:
                _child(request, out_path, err_path)
            _, status = os.waitpid(pid, 0)
            with open(out_path) as out, open(err_path) as err:
                reply = {"returncode": os.waitstatus_to_exitcode(status), "stdout": out.read(), "stderr": err.read()}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    serve()
