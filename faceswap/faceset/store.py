"""A face set on disk: ``faceset.json`` (manifest + resume mark) and ``faces/*.png``.

Every face PNG carries its own record, and every write is atomic, so a killed job
leaves whole files only, and a deleted face file is simply not used any more.
The manifest counts the faces written below the resume mark, and a finished set
records a digest of its file names, so neither a resume nor a reader has to take
"complete" on trust (``verify``).
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from faceswap import __version__
from faceswap.atomic import remove_stale_temps, write_atomic, write_json_atomic
from faceswap.errors import FaceSetError
from faceswap.faceset.schema import FaceRecord, record_from_json, record_to_json
from faceswap.locking import LOCK_FILES, release_folder
from faceswap.media.image import decode_image, encode_image
from faceswap.media.pngmeta import embed_json, read_json

log = logging.getLogger(__name__)

MANIFEST_SCHEMA = 1
FACE_NAME = re.compile(r"^(\d{6,})_(\d{2,})\.png$")


@dataclass(frozen=True)
class FaceSetManifest:
    """What a face set was extracted from and how; ``frames_done`` is the resume mark."""

    source_name: str
    source_size: int
    source_sha256: str
    fps: str                        # a fraction, e.g. "30000/1001"; "0" for image folders
    frame_count: int
    width: int
    height: int
    face_size: int
    coverage: float
    settings: dict[str, Any]        # everything that changes which faces are written
    plugins: list[dict[str, Any]]   # name, version, options of each plugin used
    frames_done: int = 0            # every frame below this index is fully written
    complete: bool = False
    faces_done: int | None = None   # face files written for the frames below frames_done (None: not recorded)
    faces_sha256: str = ""          # when complete: digest of the sorted face file names
    unreadable: int = 0             # frames or images that could not be read: such a set is never complete
    faceswap_version: str = __version__
    schema: int = MANIFEST_SCHEMA
    extra: dict[str, Any] = field(default_factory=dict)


class FaceSet:
    """One face set folder."""

    MANIFEST = "faceset.json"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.faces_dir = self.folder / "faces"

    @property
    def manifest_path(self) -> Path:
        return self.folder / self.MANIFEST

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def read_manifest(self) -> FaceSetManifest:
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            if int(data.get("schema", 0)) > MANIFEST_SCHEMA:
                raise FaceSetError(f"{self.manifest_path} is from a newer faceswap: upgrade faceswap")
            return FaceSetManifest(**data)
        except FileNotFoundError:
            raise FaceSetError(f"no face set at {self.folder} (run faceswap extract first)") from None
        except (json.JSONDecodeError, TypeError, ValueError) as exc:
            raise FaceSetError(f"{self.manifest_path} is unreadable ({exc}); delete the folder and extract again") from exc

    def write_manifest(self, manifest: FaceSetManifest) -> None:
        write_json_atomic(self.manifest_path, asdict(manifest))

    def start(self, manifest: FaceSetManifest) -> FaceSetManifest:
        """Create the folders and manifest, or resume: returns the manifest to continue from.

        On resume, faces of frames at or past the resume mark are removed (they are
        written again), so a killed run never leaves duplicates.
        """
        self.faces_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(self.faces_dir)
        remove_stale_temps(self.folder)
        if not self.exists():
            self.write_manifest(manifest)
            return manifest
        previous = self.read_manifest()
        present = self.face_paths()
        if not previous.complete and not present:      # a run that wrote nothing: start it again
            self.write_manifest(manifest)
            return manifest
        _check_same_job(previous, manifest, self.folder)
        lost = _lost_faces(previous, present)
        if lost:
            log.warning("face set %s: %d of the %d faces an interrupted extract had written are gone; "
                        "extracting it again from the start", self.folder, lost, previous.faces_done)
            for path in present:
                path.unlink()
            self.write_manifest(manifest)
            return manifest
        for path in present:
            if frame_of(path) >= previous.frames_done:
                path.unlink()
        kept = sum(1 for path in present if frame_of(path) < previous.frames_done)
        resumed = replace(manifest, frames_done=previous.frames_done, complete=previous.complete,
                          faces_done=previous.faces_done if previous.complete else kept,
                          faces_sha256=previous.faces_sha256, unreadable=previous.unreadable,
                          extra={**manifest.extra, **previous.extra})
        self.write_manifest(resumed)
        return resumed

    def mark_complete(self, manifest: FaceSetManifest) -> FaceSetManifest:
        """Mark the set complete after checking its files are the ``faces_done`` the run wrote.

        Raises FaceSetError (and leaves the set to be extracted again) when face files
        vanished while the run was writing it.
        """
        present = self.face_paths()
        if manifest.faces_done is not None and len(present) != manifest.faces_done:
            self.write_manifest(replace(manifest, frames_done=0, complete=False, faces_done=0))
            raise FaceSetError(
                f"face set {self.folder} lost {manifest.faces_done - len(present)} of its {manifest.faces_done} "
                f"face files while extract was writing it (deleted by hand or by another program?): "
                f"run extract again to redo it"
            )
        done = replace(manifest, complete=True, faces_done=len(present), faces_sha256=_names_digest(present))
        self.write_manifest(done)
        return done

    def verify(self) -> str | None:
        """None when the set is complete and holds the face files it was completed with, else why not."""
        if not self.exists():
            return f"no face set at {self.folder}"
        manifest = self.read_manifest()
        if not manifest.complete:
            return f"face set {self.folder} is unfinished (frame {manifest.frames_done} of {manifest.frame_count})"
        if not manifest.faces_sha256:
            return f"face set {self.folder} was completed by an older faceswap that kept no record of its files"
        present = self.face_paths()
        recorded = manifest.faces_done or 0
        if len(present) < recorded:
            return (f"face set {self.folder}: {recorded - len(present)} of its {recorded} face files are gone "
                    f"since it was completed")
        if _names_digest(present) != manifest.faces_sha256:
            return f"face set {self.folder}: its face files differ from the ones it was completed with"
        return None

    def clear(self) -> None:
        """Delete everything but the lock (for --fresh, while holding that lock)."""
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if path.name in LOCK_FILES:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()

    def write_face(self, image: np.ndarray, record: FaceRecord) -> Path:
        """Write one aligned face with its record embedded (atomic)."""
        path = self.faces_dir / face_file_name(record.frame_index, record.face_index)
        write_atomic(path, embed_json(encode_image(image, ".png"), record_to_json(record)))
        return path

    def face_paths(self) -> list[Path]:
        """Face files present now, in frame order."""
        if not self.faces_dir.is_dir():
            return []
        return sorted(p for p in self.faces_dir.iterdir() if FACE_NAME.match(p.name))

    def records(self) -> Iterator[tuple[Path, FaceRecord]]:
        """(path, record) of every face file, reading metadata only."""
        for path in self.face_paths():
            yield path, read_record(path)

    def remove_if_empty(self) -> None:
        """Delete a face set that holds no face (so a failed run leaves nothing behind)."""
        if self.face_paths():
            return
        self.manifest_path.unlink(missing_ok=True)
        remove_stale_temps(self.faces_dir)
        remove_stale_temps(self.folder)
        release_folder(self.folder)
        for folder in (self.faces_dir, self.folder):
            try:
                folder.rmdir()
            except OSError:
                pass

    def __len__(self) -> int:
        return len(self.face_paths())


def read_record(path: Path) -> FaceRecord:
    """The record embedded in one face file."""
    try:
        data = read_json(path)
    except (OSError, ValueError) as exc:
        raise FaceSetError(f"{path}: unreadable face file ({exc})") from exc
    if data is None:
        raise FaceSetError(f"{path}: no faceswap metadata in this PNG")
    return record_from_json(data, str(path))


def read_face_bytes(path: Path) -> bytes:
    """The bytes of one face file; FaceSetError naming the file when it is gone or unreadable."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise FaceSetError(f"{path}: the face file is gone (deleted?)") from None
    except OSError as exc:
        raise FaceSetError(f"{path}: cannot read the face file ({exc.strerror or exc})") from exc


def read_face(path: Path) -> tuple[np.ndarray, FaceRecord]:
    """Pixels (RGB uint8) and record of one face file; FaceSetError naming the file and the cause otherwise."""
    raw = read_face_bytes(path)
    try:
        data = read_json(raw)
        image = decode_image(raw)
    except ValueError as exc:
        raise FaceSetError(f"{path}: unreadable face file ({exc})") from exc
    if data is None:
        raise FaceSetError(f"{path}: no faceswap metadata in this PNG")
    return image, record_from_json(data, str(path))


def face_file_name(frame_index: int, face_index: int) -> str:
    return f"{frame_index:06d}_{face_index:02d}.png"


def frame_of(path: Path) -> int:
    match = FACE_NAME.match(path.name)
    return int(match.group(1)) if match else -1


def _lost_faces(previous: FaceSetManifest, present: list[Path]) -> int:
    """How many faces an unfinished set had written below its resume mark that are gone now."""
    if previous.complete or previous.faces_done is None:
        return 0                # deleting faces of a finished set is how users curate it
    below = sum(1 for path in present if frame_of(path) < previous.frames_done)
    return max(0, previous.faces_done - below)


def _names_digest(paths: list[Path]) -> str:
    return hashlib.sha256("\n".join(sorted(p.name for p in paths)).encode("utf-8")).hexdigest()


def _check_same_job(previous: FaceSetManifest, current: FaceSetManifest, folder: Path) -> None:
    fields = ("source_sha256", "face_size", "coverage", "settings", "plugins")
    changed = [f for f in fields if getattr(previous, f) != getattr(current, f)]
    if changed:
        raise FaceSetError(
            f"face set {folder} was extracted from another file or with other settings "
            f"({', '.join(changed)} differ): use --fresh to start it again, or --name for a new one"
        )
