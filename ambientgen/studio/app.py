"""The studio's HTTP server: the page, the render folder's files (with Range requests), and the scene edits.

Security: it binds to loopback unless told otherwise; it serves only files of the render folder (no path
traversal); every request that changes something (validate, save, export) carries the session's token in the
``X-Studio-Token`` header; on loopback the ``Host`` header must name this machine (no DNS rebinding).
"""

import hmac
import ipaddress
import logging
import threading
import webbrowser
from importlib import resources
from typing import Any

from ambientgen import AmbientgenError, SceneError

from .state import StudioSession

log = logging.getLogger("ambientgen")
TOKEN_HEADER = "X-Studio-Token"
STATIC = ("studio.js", "studio.css")


def _need_extra():
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise AmbientgenError("the studio needs its extra: pip install 'ambientgen[studio]' (FastAPI and uvicorn)") \
            from None


def _static(name: str) -> str:
    return resources.files("ambientgen.studio").joinpath("static", name).read_text(encoding="utf-8")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_app(session: StudioSession, *, allowed_hosts: set[str] | None = None):
    """The FastAPI application serving ``session``. ``allowed_hosts``: accepted ``Host`` headers (None: any)."""
    _need_extra()
    from fastapi import FastAPI, Request
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

    app = FastAPI(title="AmbientGen Studio", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if allowed_hosts is not None and request.headers.get("host", "") not in allowed_hosts:
            return JSONResponse({"error": "host: this studio answers only on its own address"}, status_code=403)
        if request.method not in ("GET", "HEAD"):
            given = request.headers.get(TOKEN_HEADER, "")
            if not hmac.compare_digest(given.encode(), session.token.encode()):
                return JSONResponse({"error": f"token: missing or wrong {TOKEN_HEADER} header (reload the page)"},
                                    status_code=403)
        response = await call_next(request)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def problem(exc: Exception, status: int = 422) -> JSONResponse:
        text = "; ".join(exc.problems) if isinstance(exc, SceneError) and getattr(exc, "problems", None) else str(exc)
        return JSONResponse({"error": text}, status_code=status)

    async def body(request: Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            raise AmbientgenError("body: not JSON") from None
        if not isinstance(data, dict):
            raise AmbientgenError("body: must be a JSON object")
        return data

    @app.get("/", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        html = _static("index.html").replace("{{TOKEN}}", session.token)
        return HTMLResponse(html)

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            return JSONResponse({"error": f"no such page file: {name}"}, status_code=404)
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        return Response(_static(name), media_type=f"{kind}; charset=utf-8")

    @app.get("/api/state")
    def state() -> dict[str, Any]:
        return session.state()

    @app.get("/api/job")
    def job() -> dict[str, Any]:
        return session.job.as_dict()

    @app.get("/files/{relative:path}")
    def files(relative: str):
        try:
            path = session.file(relative)
        except PermissionError:
            return JSONResponse({"error": f"path: '{relative}' is outside the render folder"}, status_code=403)
        except FileNotFoundError:
            return JSONResponse({"error": f"path: no file '{relative}' in the render folder"}, status_code=404)
        return FileResponse(path)  # answers Range requests (206) so long renders stream as excerpts

    @app.post("/api/validate")
    async def validate(request: Request):
        try:
            scene = session.edited((await body(request)).get("scene"))
        except AmbientgenError as exc:
            return problem(exc)
        return {"ok": True, "name": scene.name}

    @app.post("/api/save")
    async def save(request: Request):
        try:
            data = await body(request)
            path = session.save(data.get("scene"), data.get("path"), overwrite=bool(data.get("overwrite")))
        except AmbientgenError as exc:
            return problem(exc, 409 if "exists" in str(exc) else 422)
        except OSError as exc:
            return problem(AmbientgenError(f"path: cannot write: {exc.strerror or exc}"), 422)
        return {"ok": True, "path": str(path)}

    @app.post("/api/export")
    async def export(request: Request):
        try:
            job = session.export((await body(request)).get("scene"))
        except AmbientgenError as exc:
            return problem(exc, 409 if "already running" in str(exc) else 422)
        return job.as_dict()

    return app


def _port_free(host: str, port: int) -> None:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise AmbientgenError(f"port: cannot listen on {host}:{port} ({exc.strerror or exc}); pass --port N") \
                from None


def check_address(host: str, port: int, *, allow_remote: bool = False) -> None:
    """Before anything is opened or rendered: the extra is installed, the host is loopback (or allowed), the port
    is free. Raises AmbientgenError with one line."""
    _need_extra()
    if not is_loopback(host) and not allow_remote:
        raise AmbientgenError(f"host: {host} is not a loopback address; the studio serves your files and renders on "
                              "request, so binding elsewhere needs --allow-remote")
    _port_free(host, port)


def run(session: StudioSession, *, host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True,
        allow_remote: bool = False, on_message=None) -> None:
    """Serve ``session`` until Ctrl-C. A host other than loopback needs ``allow_remote`` (and is warned about)."""
    import uvicorn

    check_address(host, port, allow_remote=allow_remote)
    say = on_message or (lambda level, text: (log.warning if level == "warning" else log.info)(text))
    loopback = is_loopback(host)
    if not loopback:
        say("warning", f"serving on {host}: anyone who can reach this machine on port {port} can load the page "
                       "(changes still need the session token printed here)")
    names = {host, "localhost", "127.0.0.1", "[::1]"}
    allowed = {f"{name}:{port}" for name in names} if loopback else None
    app = create_app(session, allowed_hosts=allowed)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    say("info", f"AmbientGen Studio: {url}  (scene '{session.scene.name}', renders in {session.output}; Ctrl-C stops)")
    if not loopback:
        say("info", f"session token: {session.token}")
    if open_browser:
        threading.Timer(0.8, lambda: webbrowser.open(url)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")
    if session.thread is not None and session.thread.is_alive():  # never abandon an export half-way unasked
        say("info", "an export is still running: waiting for it to finish (Ctrl-C again abandons it; the cache "
                    "keeps its finished model work)")
        session.thread.join()
