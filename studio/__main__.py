"""``python -m studio``: serve the studio's page (on 127.0.0.1 unless ``--host`` says otherwise)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys

from nets.errors import UserError
from nets.files import stop_requests_interrupt
from nets.options import OneLineErrorParser, add_dataclass_options, from_args
from studio.config import StudioConfig

PROG = "python -m studio"
#: Seconds a stopping server waits for open pages to let go of their connections before it closes them.
STOP_WAIT_S = 3


def main(argv: list[str] | None = None) -> int:
    parser = OneLineErrorParser(prog=PROG, description="The whole tool in a web page: photos, clips, live camera, "
                                                       "your own painter, and the reference method.")
    add_dataclass_options(parser, StudioConfig)
    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(levelname)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own requests to itself
    try:
        cfg = from_args(StudioConfig, parser.parse_args(argv))
        cfg.uploads.mkdir(parents=True, exist_ok=True)
    except (UserError, OSError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    # Uploads and Gradio's own copies stay inside the output folder (Gradio reads this when imported), and
    # so do the kernels the compiled engine builds for the live view.
    os.environ["GRADIO_TEMP_DIR"] = str(cfg.uploads)
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cfg.out / "cache" / "inductor"))
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import uvicorn

    from infer.painters import search_first
    from studio import housekeeping
    from studio.app import build_app
    from studio.live_socket import MAX_FRAME_BYTES

    search_first(cfg.painters)  # the families made here are found by name, before checkpoints/
    app = build_app(cfg)
    housekeeping.in_background(cfg.out, cfg.keep_uploads_hours * 3600)
    stop_requests_interrupt()  # so that a stop request ends the server cleanly, with its background build
    if warning := cfg.exposure_warning():
        print(f"{PROG}: warning: {warning}", file=sys.stderr, flush=True)
    print(f"{PROG}: serving on http://{cfg.host}:{cfg.port} (Ctrl-C stops)", flush=True)
    # ws_max_size: a bigger live frame is refused by the protocol itself (close 1009), before it is read.
    # timeout_graceful_shutdown: an open page holds its connection for good; after this the server closes it,
    # and its lifespan's end stops the running jobs (build_app), so Ctrl-C ends the studio in seconds.
    server = uvicorn.Server(uvicorn.Config(app, host=cfg.host, port=cfg.port, log_level="warning",
                                           ws_max_size=MAX_FRAME_BYTES + 8, timeout_graceful_shutdown=STOP_WAIT_S))
    logging.getLogger("uvicorn.error").addFilter(quiet_shutdown)  # after uvicorn.Config has set up its logging
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn hands the Ctrl-C on once it has stopped
        server.run()
    return 0


def quiet_shutdown(record: logging.LogRecord) -> bool:
    """Whether to log ``record``: not the traceback uvicorn logs for each open page's connection it closes
    when the studio stops (a cancelled request is how it closes one, not a fault)."""
    return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


if __name__ == "__main__":
    sys.exit(main())
