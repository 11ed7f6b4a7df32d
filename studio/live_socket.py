"""The live view's channel: camera frames from the page over a WebSocket, painted at the painter's own speed.

Why not Gradio's streaming events: each camera frame became a queued event with an upload and a result file,
which held the page at 2–3 frames/s while the painting step alone ran 7–14. Here each viewer keeps one frame
in flight. The server asks the page for the next frame shortly before the painting in hand is done (the
painting's own time less the page's answer time, both measured as it runs), so it seldom waits for the
camera and a frame seldom waits for it; a frame that arrives while another waits replaces it (newest wins).

Who may connect: a page this server gave a key to (``Live.issue``, when the page loads: behind the studio's
password where it has one), from the studio's own origin; a frame over ``MAX_FRAME_BYTES`` or one that is
not a JPEG image closes the connection. Viewers take turns at the painter (a first-come lock), so two
share the CPU evenly, and each is told how many share it.

Messages: the page sends binary ``<frame id: uint32 LE><JPEG>``. The server sends binary ``<frame id><painting
ms: uint32 LE><JPEG>`` (0 ms: the camera's own picture, while the painter is prepared) and text JSON:
``{"next": true}`` (send a frame), ``{"size": [w, h], "note": "…"}`` (the size to send, what paints).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import struct
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import cv2
import numpy as np
from fastapi import WebSocket, WebSocketDisconnect

from nets.errors import UserError
from studio.context import Studio
from studio.jobs import Worker

log = logging.getLogger("studio")

ROUTE = "/live/socket"
#: The sizes offered, width × height painted (the camera's picture is cropped to the aspect, then scaled).
SIZES = {"320×240": (320, 240), "640×360": (640, 360), "1280×720": (1280, 720)}
#: A 1280×720 JPEG at the page's quality is ~0.2 MB: anything much bigger is not a camera frame.
MAX_FRAME_BYTES = 2 * 1024 * 1024
#: Keys kept for pages that loaded (the oldest forgotten first): a page older than this many loads reloads.
MAX_KEYS = 1000
JPEG_QUALITY = 85
#: The WebSocket close codes used: policy violation (wrong origin or key), unsupported data, message too big.
REFUSED, NOT_AN_IMAGE, TOO_BIG = 1008, 1003, 1009


class BadFrame(UserError):
    """A message that is not a camera frame: the connection is closed with this reason."""

    def __init__(self, reason: str, code: int) -> None:
        super().__init__(reason)
        self.code = code


@dataclass
class Settings:
    """A page's live controls, as its sliders last said (they act on the next frame)."""

    family: str
    weights: dict[str, float]
    strength: float = 1.0
    stroke: float = 1.0
    size: str = "320×240"
    light: float = 0.0


def fit(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``frame`` cropped to the aspect of ``size`` around its centre and scaled to it (the page sends frames
    already fitted; a frame of another size is fitted here)."""
    w, h = size
    fh, fw = frame.shape[:2]
    if (fw, fh) == (w, h):
        return frame
    scale = max(w / fw, h / fh)
    cw, ch = round(w / scale), round(h / scale)
    x, y = (fw - cw) // 2, (fh - ch) // 2
    return cv2.resize(frame[y:y + ch, x:x + cw], (w, h), interpolation=cv2.INTER_AREA)


def decode(message: dict[str, Any]) -> tuple[int, np.ndarray]:
    """A page's frame message: its id and its picture (RGB); ``BadFrame`` for anything else."""
    data = message.get("bytes")
    if data is None:
        raise BadFrame("the live view takes camera frames (binary JPEG), not text", NOT_AN_IMAGE)
    if len(data) > MAX_FRAME_BYTES:
        raise BadFrame(f"a frame of {len(data) / 1e6:.1f} MB: at most {MAX_FRAME_BYTES / 1e6:.1f} MB", TOO_BIG)
    picture = cv2.imdecode(np.frombuffer(data, np.uint8)[4:], cv2.IMREAD_COLOR) if data[4:6] == b"\xff\xd8" else None
    if picture is None:
        raise BadFrame("not a JPEG image", NOT_AN_IMAGE)
    return struct.unpack_from("<I", data)[0], picture[..., ::-1]


def same_origin(headers: Any) -> bool:
    """Whether the page that opens the socket is the studio's own (its Origin names the host it asked)."""
    origin, host = headers.get("origin"), headers.get("host")
    return bool(origin and host) and urlsplit(origin).netloc == host


@dataclass
class Pace:
    """Running means of the painting time and of the page's answer time (from asking for a frame to having
    it), which say when to ask for the next frame."""

    painting_s: float = 0.0
    answer_s: float = 0.0
    asked_at: float = 0.0

    @staticmethod
    def mean(old: float, new: float) -> float:
        return new if old == 0 else 0.8 * old + 0.2 * new

    def ask_after(self) -> float:
        """Seconds into a painting at which to ask for the next frame, so that it arrives as the painting ends."""
        return max(0.0, self.painting_s - self.answer_s)


@dataclass
class Live:
    """The keys given to pages, their settings, and the viewers taking turns at the painter."""

    studio: Studio
    settings: OrderedDict[str, Settings] = field(default_factory=OrderedDict)
    viewers: int = 0
    warming: dict[tuple[int, str], tuple[Worker, float]] = field(default_factory=dict)  # (network, size)
    lock: threading.Lock = field(default_factory=threading.Lock)  # settings and warming, from several threads
    _turn: asyncio.Lock | None = None

    def issue(self) -> str:
        """A new page's key (what lets it open the socket), with the default settings."""
        key = secrets.token_urlsafe(18)
        with self.lock:
            self.settings[key] = Settings(self.studio.default_family(), {})
            while len(self.settings) > MAX_KEYS:
                self.settings.popitem(last=False)
        return key

    def remember(self, key: str, settings: Settings) -> None:
        """A page's controls changed: its next frame is painted with them."""
        with self.lock:
            if key in self.settings:
                self.settings[key] = settings

    def paint(self, picture: np.ndarray, settings: Settings) -> tuple[bytes, str, bool]:
        """The painting of one frame as JPEG bytes, what to say of it, and whether it was painted (not while the
        painter is first prepared for a size, which may take a minute: the camera's picture is sent meanwhile)."""
        size = SIZES[settings.size]
        picture = np.ascontiguousarray(fit(picture, size))
        stylizer = self.studio.library.stylizer(settings.family, settings.weights, settings.strength,
                                                stroke_size=settings.stroke, fast=True, stream=True,
                                                keep_light=settings.light)
        key = (id(self.studio.library.network(settings.family, True, True)), settings.size)
        with self.lock:
            if key not in self.warming:
                self.warming[key] = (Worker(lambda: stylizer.image(picture)), time.perf_counter())
            worker, started = self.warming[key]
        painted = worker.is_alive() or worker.error is not None
        if worker.error is not None:
            with self.lock:
                self.warming.pop(key, None)
            worker.outcome()  # raises what went wrong, said in the page; the next frame tries again
        if painted:
            note = (f"preparing the painter for {settings.size} (compiling it for this size where the machine "
                    f"can, once): {time.perf_counter() - started:.0f} s…")
            out = picture
        else:
            note = stylizer.engine.description
            out = stylizer.image(picture)
        ok, jpeg = cv2.imencode(".jpg", np.ascontiguousarray(out[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        return jpeg.tobytes(), note, not painted

    async def serve(self, socket: WebSocket) -> None:
        """One viewer, from the page's Start to its Stop (or its tab closing)."""
        key = socket.query_params.get("key", "")
        if not same_origin(socket.headers) or key not in self.settings:
            log.warning("live: refused a connection from %s (%s)", socket.headers.get("origin"),
                        "unknown key" if same_origin(socket.headers) else "another origin")
            await socket.close(code=REFUSED)  # before accepting: the handshake is refused (HTTP 403)
            return
        await socket.accept()
        self._turn = self._turn or asyncio.Lock()
        self.viewers += 1
        log.info("live: a viewer joined (%d now)", self.viewers)
        viewer = Viewer(self, socket, key)
        try:
            await viewer.run()
        except BadFrame as exc:
            log.warning("live: closed a connection: %s", exc)
            with contextlib.suppress(Exception):
                await socket.close(code=exc.code, reason=str(exc)[:120])
        except (WebSocketDisconnect, RuntimeError):  # the tab closed or the page stopped (mid-send)
            pass
        finally:
            self.viewers -= 1
            log.info("live: a viewer left (%d now)", self.viewers)


@dataclass
class Viewer:
    """One connection: a task that takes frames in (the newest kept) and a loop that paints them in turn."""

    live: Live
    socket: WebSocket
    key: str
    pace: Pace = field(default_factory=Pace)
    waiting: tuple[int, np.ndarray] | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    sending: asyncio.Lock = field(default_factory=asyncio.Lock)
    said: tuple[str, str] = ("", "")

    async def send(self, text: dict | None = None, data: bytes | None = None) -> None:
        async with self.sending:
            if text is not None:
                await self.socket.send_text(json.dumps(text))
            else:
                await self.socket.send_bytes(data or b"")

    async def ask(self) -> None:
        self.pace.asked_at = time.perf_counter()
        await self.send({"next": True})

    async def take(self) -> None:
        while True:
            message = await self.socket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            frame = await asyncio.to_thread(decode, message)
            if self.pace.asked_at:
                self.pace.answer_s = Pace.mean(self.pace.answer_s, time.perf_counter() - self.pace.asked_at)
                self.pace.asked_at = 0.0
            self.waiting = frame  # a frame still waiting is replaced: the newest wins
            self.arrived.set()

    async def run(self) -> None:
        taking = asyncio.create_task(self.take())
        painting = asyncio.create_task(self.paint_loop())
        try:
            done, _ = await asyncio.wait([taking, painting], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # the reason it ended (a disconnect, a bad frame) goes up
        finally:
            for task in (taking, painting):
                task.cancel()

    async def paint_loop(self) -> None:
        with self.live.lock:
            first = self.live.settings[self.key].size
        await self.tell(first, "starting")
        await self.ask()
        while True:
            await self.arrived.wait()
            self.arrived.clear()
            frame_id, picture = self.waiting or (0, None)
            with self.live.lock:
                settings = self.live.settings.get(self.key)
            if settings is None:  # forgotten: this page is older than the last MAX_KEYS loads
                raise BadFrame("this page is too old: reload it", REFUSED)
            async with self.live._turn:  # type: ignore[union-attr]
                start = time.perf_counter()
                painting = asyncio.ensure_future(asyncio.to_thread(self.live.paint, picture, settings))
                # the next frame is asked for as the painting ends, less the page's answer time
                await asyncio.wait([painting], timeout=self.pace.ask_after())
                await self.ask()
                try:
                    jpeg, note, painted = await painting
                except UserError as exc:
                    jpeg, note, painted = b"", f"⚠ {exc}", False
                took = time.perf_counter() - start
            if painted:
                self.pace.painting_s = Pace.mean(self.pace.painting_s, took)
            else:
                await asyncio.sleep(0.1)  # while the painter is prepared: the camera at ~10 frames/s
            others = self.live.viewers - 1
            note += f" · sharing the painter with {others} other viewer{'s' * (others > 1)}" if others else ""
            await self.tell(settings.size, note)
            if jpeg:
                milliseconds = max(1, round(took * 1000)) if painted else 0  # 0: the camera's own picture
                await self.send(data=struct.pack("<II", frame_id, milliseconds) + jpeg)

    async def tell(self, size: str, note: str) -> None:
        """The frame size to send and what to say of the painting, when either changed."""
        if (size, note) != self.said:
            self.said = (size, note)
            await self.send({"size": list(SIZES[size]), "note": note})
