"""The studio's server: the page (every tab, the results kept from earlier jobs, and the queue that runs jobs
one at a time) mounted on a FastAPI app beside the live view's WebSocket."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import gradio as gr
from fastapi import FastAPI

from infer.prebuilt import SHIPPED_FAMILIES
from nets.device import describe_device, pick_device
from studio import live_socket, prebuild
from studio.config import StudioConfig
from studio.context import Studio
from studio.tabs import compare, live, painter, photo, results, video

TITLE = "Style studio"


def build_app(cfg: StudioConfig) -> FastAPI:
    """The studio's ASGI app: Gradio's page at /, the live view's socket at ``live_socket.ROUTE``."""
    studio = Studio.create(cfg)
    build = studio.build_for_cpu(SHIPPED_FAMILIES, "prebuild.log")
    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(f"# {TITLE}\nTurn photos and clips into paintings. Jobs run one at a time on "
                    f"{describe_device(pick_device(cfg.device))}; results are kept in `{cfg.out}`.")
        if warning := cfg.exposure_warning():
            gr.Markdown(f"⚠ {warning}.", elem_id="exposure-warning")
        if build is not None:
            show_build(build)
        with gr.Tabs():
            photo.build(studio)
            video.build(studio)
            channel = live.build(studio)
            added = painter.build(studio)
            compare.build(studio)
            results.build(studio)
        def menus() -> list[dict]:
            return [gr.update(choices=studio.family_names())] * len(studio.family_menus)

        # a family made in the page joins every menu at once, and any window's menus when it (re)loads
        added.then(menus, None, studio.family_menus, queue=False)
        app.load(menus, None, studio.family_menus, queue=False)
        for fn, component in studio.on_load:
            app.load(fn, None, component, queue=False)
    app.queue(default_concurrency_limit=1)
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        studio.cancels.stop_all()  # the server is stopping: running jobs stop as Cancel stops them

    server = FastAPI(lifespan=lifespan)  # Gradio's mount runs its own lifespan inside this one
    server.add_api_websocket_route(live_socket.ROUTE, channel.serve)  # before the page's mount, which takes /
    return gr.mount_gradio_app(server, app, "/", server_name=cfg.host, server_port=cfg.port,
                               allowed_paths=[str(cfg.out)], show_error=True, max_file_size=cfg.max_upload_mb << 20,
                               auth=("painter", cfg.password) if cfg.password else None)


def show_build(build: prebuild.Build) -> None:
    """The background build's line under the title, updated every few seconds until the build ends."""
    line = gr.Markdown(build.line(), elem_id="prebuild-status")
    timer = gr.Timer(5)

    def tick() -> tuple[str, gr.Timer]:
        return build.line(), gr.Timer(active=build.state == "building")

    timer.tick(tick, None, [line, timer], queue=False, show_progress="hidden")
