"""Headless chromium (Debian's ``/usr/bin/chromium`` driven by Playwright) for screenshots and
browser tests, with every non-local request aborted and recorded.

Needs the ``browser`` extra (``playwright``) and the Debian ``chromium`` package; never runs
``playwright install`` (no browser download). Used by ``scripts/screenshots.py`` and the tests.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

CHROMIUM = os.environ.get("GRIDSCHEME_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--enable-unsafe-swiftshader", "--use-angle=swiftshader"]
LOCAL_SCHEMES = ("file", "data", "blob", "about")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


def chromium_available() -> bool:
    """Whether the Debian chromium binary and Python playwright are both installed."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return shutil.which(CHROMIUM) is not None or os.path.exists(CHROMIUM)


@dataclass
class PageLog:
    """What a page did that a test may object to."""

    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Every recorded problem, one line each."""
        return ([f"blocked request {u}" for u in self.blocked]
                + [f"console error {m}" for m in self.console_errors]
                + [f"page error {m}" for m in self.page_errors]
                + [f"dialog {m}" for m in self.dialogs])


def _is_local(url: str) -> bool:
    u = urlparse(url)
    return u.scheme in LOCAL_SCHEMES or (u.hostname or "") in LOCAL_HOSTS


@contextmanager
def browser_context(viewport: tuple[int, int] = (1400, 900)) -> Iterator[Any]:
    """A Playwright browser context on Debian's chromium with the network guard."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="gs-chromium-")
    try:
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=FLAGS,
                viewport={"width": viewport[0], "height": viewport[1]},
                device_scale_factor=1, locale="zh-CN")
            try:
                yield ctx
            finally:
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def open_page(ctx: Any, url: str, log: PageLog | None = None, wait_ms: int = 300) -> tuple[Any, PageLog]:
    """Open ``url`` in a new page, aborting and recording every non-local request."""
    log = log or PageLog()
    page = ctx.new_page()

    def guard(route: Any) -> None:
        if _is_local(route.request.url):
            route.continue_()
        else:
            log.blocked.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log.page_errors.append(str(e)))

    def on_dialog(d: Any) -> None:
        log.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    page.on("dialog", on_dialog)
    page.goto(url, wait_until="load")
    page.wait_for_timeout(wait_ms)
    return page, log


def drag(page: Any, box: dict[str, float], dx: float, dy: float, settle_ms: int = 300) -> None:
    """Drag the mouse across an element the way a user orbits a 3D view.

    Parameters
    ----------
    page
        Playwright page.
    box
        The element's bounding box (``locator.bounding_box()``); the drag starts at 60 % of
        its width and height, away from the overlaid buttons in the corners.
    dx, dy
        Drag distance in CSS pixels.
    settle_ms
        Time to let the animation loop redraw after the drag.
    """
    cx, cy = box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + dx, cy + dy, steps=8)
    page.mouse.up()
    page.wait_for_timeout(settle_ms)
