"""Routes of the mask-labels page: a face, its stored mask as an overlay, saving labels, and the
``faceswap mask train`` / ``mask apply`` jobs (CLI subprocesses through the job runner)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from faceswap.errors import InputError
from faceswap.ui import gallery, masks
from faceswap.ui.web import number, plain_name, read_json

if TYPE_CHECKING:
    from faceswap.ui.app import UiState


def mask_routes(state: UiState) -> list[Route]:
    ws = state.workspace

    async def info(request: Request) -> Response:
        faceset = gallery.open_faceset(ws, request.path_params["name"])
        return JSONResponse(await run_in_threadpool(masks.face_info, faceset, request.path_params["face"]))

    async def image(request: Request) -> Response:
        faceset = gallery.open_faceset(ws, request.path_params["name"])
        path = gallery.face_path(faceset, request.path_params["face"])
        if not path.is_file():
            raise InputError(f"face set {faceset.folder.name} has no face {path.name}")
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "no-store"})

    async def overlay(request: Request) -> Response:
        faceset = gallery.open_faceset(ws, request.path_params["name"])
        data = await run_in_threadpool(masks.mask_overlay, faceset, request.path_params["face"],
                                       request.query_params.get("mask", ""))
        return Response(data, media_type="image/png", headers={"Cache-Control": "no-store"})

    async def save(request: Request) -> Response:
        faceset = gallery.open_faceset(ws, request.path_params["name"])
        data = await read_json(request)
        if state.jobs.running("extract", faceset.folder.name):
            raise InputError(f"face set '{faceset.folder.name}' is being extracted: save the labels when it is done")
        count = await run_in_threadpool(masks.save_labels, faceset, request.path_params["face"],
                                        data.get("labels"), data.get("size"))
        return JSONResponse({"labels": count})

    async def train(request: Request) -> Response:
        data = await read_json(request)
        faceset = gallery.open_faceset(ws, str(data.get("faceset", ""))).folder.name
        name = plain_name(str(data.get("name") or "segment"), "mask model name")
        iters = number(data, "iters", int, 200)
        batch = number(data, "batch", int, 8)
        if not 1 <= iters <= 10**7 or not 1 <= batch <= 4096:
            raise InputError(f"iterations {iters} / batch {batch} out of range (1 to 10000000 / 1 to 4096)")
        if state.jobs.running("mask-train", name):
            raise InputError(f"mask model '{name}' is already training")
        args = ["mask", "train", "--faces", faceset, "--name", name, "--iters", str(iters), "--batch", str(batch)]
        return JSONResponse({"job": state.jobs.start("mask-train", name, args).to_json()})

    async def apply(request: Request) -> Response:
        data = await read_json(request)
        faceset = gallery.open_faceset(ws, str(data.get("faceset", ""))).folder.name
        args = ["mask", "apply", faceset]
        model = str(data.get("model") or "")
        if model:
            plain_name(model, "mask model name")
            if not (ws.model_dir(model) / "trainer.json").is_file():
                raise InputError(f"no trained mask model '{model}' in {ws.models} (train one first)")
            args += ["--model", model]
        if state.jobs.running("mask-apply", faceset) or state.jobs.running("extract", faceset):
            raise InputError(f"face set '{faceset}' is busy with another job")
        return JSONResponse({"job": state.jobs.start("mask-apply", faceset, args).to_json()})

    prefix = "/api/masks/{name}/{face}"
    return [Route(prefix, info), Route(prefix + "/image", image), Route(prefix + "/overlay", overlay),
            Route(prefix + "/labels", save, methods=["POST"]),
            Route("/api/mask/train", train, methods=["POST"]), Route("/api/mask/apply", apply, methods=["POST"])]
