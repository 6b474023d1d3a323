"""The real service on localhost in a thread (browser tests, ``scripts/screenshots.py``,
embedding): uvicorn on a free port, a fresh SQLite database in a temporary folder, the demo
network active, no job worker; tokens made on demand."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class LiveService:
    """A running service: its base URL, app and the tokens made for it."""

    url: str
    app: Any
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, who: str, role: str, principal: str | None = None) -> str:
        """Create (once) and return the token of ``who`` (``role``; customers need a
        ``principal``)."""
        if who not in self.tokens:
            from api.auth import create_token

            self.tokens[who], _ = create_token(self.app.state.ctx.db, role, principal, name=who)
        return self.tokens[who]


@contextmanager
def live_service(folder: Path | None = None) -> Iterator[LiveService]:
    """Start ``create_app`` under uvicorn on a free localhost port; stop it afterwards.

    Parameters
    ----------
    folder : Path, optional
        Where the database and data folder go (default a temporary folder, removed after).
    """
    import uvicorn

    from api.plan_cli import DEMO_NETWORK
    from api.service import Settings, create_app

    with tempfile.TemporaryDirectory(prefix="gs-live-") as tmp:
        base = Path(folder or tmp)
        settings = Settings.from_env(f"sqlite:///{base / 'gridscheme.db'}", base / "data",
                                     worker="off")
        app = create_app(settings, bootstrap_network=DEMO_NETWORK)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                access_log=False, lifespan="on")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="gs-live", daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield LiveService(f"http://127.0.0.1:{port}", app)
        finally:
            server.should_exit = True
            thread.join(30)
