"""The web app: JSON routes over the workspace, the jobs and the merge tuner, and the static page.

Built on Starlette (the ASGI toolkit under FastAPI and Gradio) with a hand-written page in
``static/`` (no CDN, no fonts or scripts from elsewhere, no analytics). Every expected problem
is a FaceswapError shown in the page as one line (HTTP 400); anything else is logged with its
traceback and answered with one line too (HTTP 500): the server keeps running.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from faceswap.cli.context import AppContext
from faceswap.errors import FaceswapError, InputError
from faceswap.merge.session import PasteStyle, read_session, session_from_json, write_session
from faceswap.merge.sharpen import DEFAULT_AMOUNT as DEFAULT_SHARPEN
from faceswap.ui import gallery, inventory
from faceswap.ui.extract_form import ExtractForm, save_upload
from faceswap.ui.jobs import JobManager
from faceswap.ui.mask_routes import mask_routes
from faceswap.ui.training import TrainForm, latest_preview, model_state
from faceswap.ui.web import number, read_json

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


class UiState:
    """Everything the routes share; one per server (tests build their own)."""

    def __init__(self, app: AppContext) -> None:
        self.app = app
        self.workspace = app.workspace
        self.jobs = JobManager(app.workspace, app.device_choice)
        self._tuner: Any = None
        self._tuner_lock = threading.Lock()

    def tuner(self) -> Any:
        """The merge tuner, made on first use (call it in a worker thread: it imports torch, which the
        other pages never need, so the server starts in a fraction of the time)."""
        with self._tuner_lock:
            if self._tuner is None:
                from faceswap.ui.tuner import Tuner

                self._tuner = Tuner(self.app)
            return self._tuner


def _error(exc: Exception, status: int) -> JSONResponse:
    return JSONResponse({"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}, status_code=status)


async def _user_error(request: Request, exc: Exception) -> JSONResponse:
    return _error(exc, 400)


async def _bug(request: Request, exc: Exception) -> JSONResponse:
    log.error("faceswap ui: %s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": f"faceswap ui hit a bug ({type(exc).__name__}: {exc}); see the server log"},
                        status_code=500)


def _video_path(state: UiState, text: str) -> Path:
    """An uploaded video's name, or a path on this machine."""
    if not text:
        raise InputError("choose a video first")
    uploaded = state.workspace.root / "uploads" / text
    path = uploaded if "/" not in text and uploaded.is_file() else Path(text).expanduser()
    if not path.is_file():
        raise InputError(f"video not found: {text}")
    return path


def session_path(state: UiState, video: Path) -> Path:
    return state.workspace.root / "sessions" / f"{video.stem}.json"


def routes(state: UiState) -> list:
    ws = state.workspace

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def workspace(request: Request) -> Response:
        summary = await run_in_threadpool(inventory.summary, ws)
        registry = state.app.registry
        choices = {kind: registry.names(kind) for kind in ("detector", "landmarker", "masker", "color", "blender")}
        return JSONResponse({**summary, "jobs": state.jobs.list(), "choices": choices})

    async def jobs(request: Request) -> Response:
        return JSONResponse({"jobs": state.jobs.list()})

    async def stop_job(request: Request) -> Response:
        return JSONResponse({"stopped": state.jobs.stop(int(request.path_params["job"]))})

    async def upload(request: Request) -> Response:
        name = request.query_params.get("name", "")
        path = await save_upload(ws, name, request.stream())
        return JSONResponse({"path": str(path), "name": path.name})

    async def extract(request: Request) -> Response:
        form = ExtractForm.from_json(await read_json(request), ws)
        args = await run_in_threadpool(form.args, state.app.registry)
        if state.jobs.running("extract", form.set_name()):
            raise InputError(f"face set '{form.set_name()}' is already being extracted")
        job = state.jobs.start("extract", form.set_name(), args)
        return JSONResponse({"job": job.to_json()})

    async def faces(request: Request) -> Response:
        q = request.query_params
        faceset = gallery.open_faceset(ws, request.path_params["name"])
        low = float(q["min"]) if q.get("min") else None
        high = float(q["max"]) if q.get("max") else None
        data = await run_in_threadpool(gallery.page, faceset, int(q.get("offset", 0)), min(int(q.get("limit", 200)), 1000),
                                       q.get("sort", "frame"), q.get("desc") == "1", q.get("where", ""), low, high,
                                       q.get("rejected") == "1")
        return JSONResponse(data)

    async def thumb(request: Request) -> Response:
        faceset = gallery.open_faceset(ws, request.path_params["name"])
        data = await run_in_threadpool(gallery.thumbnail, ws, faceset, request.path_params["face"],
                                       request.query_params.get("rejected") == "1")
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    async def face_meta(request: Request) -> Response:
        faceset = gallery.open_faceset(ws, request.path_params["name"])
        return JSONResponse(await run_in_threadpool(gallery.metadata, faceset, request.path_params["face"],
                                                     request.query_params.get("rejected") == "1"))

    async def reject(request: Request) -> Response:
        faceset = gallery.open_faceset(ws, request.path_params["name"])
        names = (await read_json(request)).get("names") or []
        actions = {"reject": gallery.reject, "restore": gallery.restore}
        if request.path_params["action"] not in actions:
            raise InputError(f"unknown action '{request.path_params['action']}'")
        action = actions[request.path_params["action"]]
        return JSONResponse({"moved": await run_in_threadpool(action, faceset, [str(n) for n in names])})

    async def model(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(model_state, ws, request.path_params["name"]))

    async def model_preview(request: Request) -> Response:
        preview = latest_preview(ws.model_dir(request.path_params["name"]))
        if preview is None:
            raise InputError("no preview yet")
        return FileResponse(preview, headers={"Cache-Control": "no-store"})

    async def train(request: Request) -> Response:
        data = await read_json(request)
        form = TrainForm(name=str(data.get("name") or "sae"), src=str(data.get("src") or "src"),
                         dst=str(data.get("dst") or "dst"), preset=str(data.get("preset") or ""),
                         iters=number(data, "iters", int, 0), minutes=number(data, "minutes", float, 0),
                         batch=number(data, "batch", int, 8), preview_every=number(data, "preview_every", int, 100),
                         lpips_weight=number(data, "lpips_weight", float, 0),
                         identity_weight=number(data, "identity_weight", float, 0), pixel=str(data.get("pixel") or "l1"))
        args = form.args(ws) + [str(a) for a in data.get("extra_args", [])]
        if state.jobs.running("train", form.name):
            raise InputError(f"model '{form.name}' is already training")
        return JSONResponse({"job": state.jobs.start("train", form.name, args).to_json()})

    async def tuner_info(request: Request) -> Response:
        video = _video_path(state, request.query_params.get("video", ""))
        info = await run_in_threadpool(lambda: state.tuner().info(video))
        path = session_path(state, video)
        session = read_session(path).to_json() if path.is_file() else None
        return JSONResponse({**info, "session": session, "session_path": str(path)})

    async def tuner_preview(request: Request) -> Response:
        q = request.query_params
        video = _video_path(state, q.get("video", ""))
        style = PasteStyle(q.get("color", "rct"), q.get("blender", "alpha"), q.get("mask", "intersect"),
                           number(dict(q), "erode", float, 0.0), number(dict(q), "blur", float, 0.04),
                           number(dict(q), "sharpen", float, DEFAULT_SHARPEN))
        from faceswap.ui.tuner import PreviewRequest

        request_ = PreviewRequest(video, number(dict(q), "index", int, 0), q.get("model", "sae"), style,
                                  q.get("faceset", ""))
        data, count = await run_in_threadpool(lambda: state.tuner().preview(request_))
        return Response(data, media_type="image/jpeg", headers={"X-Faces": str(count), "Cache-Control": "no-store"})

    async def save_session(request: Request) -> Response:
        data = await read_json(request)
        video = _video_path(state, str(data.get("video", "")))
        session = session_from_json({**data.get("session", {}), "video": video.name}, "session")
        path = session_path(state, video)
        ws.ensure(path.parent)
        write_session(path, session)
        return JSONResponse({"path": str(path)})

    async def render(request: Request) -> Response:
        data = await read_json(request)
        video = _video_path(state, str(data.get("video", "")))
        path = session_path(state, video)
        if not path.is_file():
            raise InputError("save the session first")
        session = read_session(path)
        model_name = str(data.get("model") or session.model or "sae")
        if not (ws.model_dir(model_name) / "weights.safetensors").is_file():
            raise InputError(f"no trained model '{model_name}' in {ws.models}")
        output = ws.output / f"{video.stem}_swapped.mp4"
        if state.jobs.running("merge", output.name):
            raise InputError(f"{output.name} is already being rendered")
        args = ["merge", str(video), "--model", model_name, "--session", str(path), "-o", str(output)]
        return JSONResponse({"job": state.jobs.start("merge", output.name, args).to_json()})

    return [
        Route("/", index), Route("/api/workspace", workspace), Route("/api/jobs", jobs),
        Route("/api/jobs/{job:int}/stop", stop_job, methods=["POST"]),
        Route("/api/upload", upload, methods=["POST"]), Route("/api/extract", extract, methods=["POST"]),
        Route("/api/facesets/{name}/faces", faces), Route("/api/facesets/{name}/thumb/{face}", thumb),
        Route("/api/facesets/{name}/meta/{face}", face_meta),
        Route("/api/facesets/{name}/{action:str}", reject, methods=["POST"]),
        Route("/api/models/{name}", model), Route("/api/models/{name}/preview", model_preview),
        Route("/api/train", train, methods=["POST"]),
        Route("/api/tuner/info", tuner_info), Route("/api/tuner/preview", tuner_preview),
        Route("/api/tuner/session", save_session, methods=["POST"]), Route("/api/tuner/render", render, methods=["POST"]),
        *mask_routes(state),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def create_app(app: AppContext) -> Starlette:
    """The ASGI app for one workspace."""
    state = UiState(app)
    web = Starlette(routes=routes(state), exception_handlers={FaceswapError: _user_error, Exception: _bug})
    web.state.ui = state
    return web


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")

