"""Probe, read and write real clips through the real ffmpeg."""
from fractions import Fraction

import numpy as np
import pytest

from conftest import PHOTOS, VIDEO
from faceswap.errors import InputError
from faceswap.media.probe import probe
from faceswap.media.video import ImageFolderSource, VideoWriter, open_source


def test_probe_reads_size_fps_frames_and_audio():
    info = probe(VIDEO / "aoc__hdtf_wda_000.mp4")
    assert (info.width, info.height, info.fps, info.frame_count, info.has_audio) == (512, 512, 25, 200, True)
    assert info.duration == pytest.approx(8.0, abs=0.1)
    ntsc = probe(VIDEO / "lin_manuel_miranda__white_house_2009.mp4")
    assert ntsc.fps == Fraction(30000, 1001)
    silent = probe(VIDEO / "obama__weekly_address.mp4")
    assert not silent.has_audio and (silent.width, silent.height) == (512, 388)


def test_reader_yields_ordered_rgb_frames_with_timestamps():
    source = open_source(VIDEO / "henry_viii_painting__faceswap_test.mp4")
    frames = list(source.frames())
    assert len(frames) == source.info.frame_count == 91
    assert [f.index for f in frames] == list(range(91))
    assert frames[10].pts == pytest.approx(10 / 5)
    assert frames[0].image.shape == (240, 426, 3) and frames[0].image.dtype == np.uint8
    picked = list(source.frames(start=7, every=4))
    assert [f.index for f in picked] == list(source.frame_indices(7, 4)) == list(range(8, 91, 4))
    assert np.array_equal(picked[0].image, frames[8].image)
    runs = list(source.frames(start=12, every=20, run=3))        # runs of 3 consecutive frames
    assert [f.index for f in runs] == source.frame_indices(12, 20, 3) == [20, 21, 22, 40, 41, 42, 60, 61, 62, 80, 81, 82]
    assert all(np.array_equal(f.image, frames[f.index].image) for f in runs)


def test_stopping_early_ends_the_decoder():
    frames = open_source(VIDEO / "woman_expressions__liveportrait_d6.mp4").frames()
    first = next(frames)
    frames.close()
    assert first.index == 0


def test_image_folder_is_a_source(image_folder):
    folder = image_folder(*sorted((PHOTOS / "obama").glob("*.jpg"))[:3])
    source = open_source(folder)
    assert isinstance(source, ImageFolderSource) and source.info.frame_count == 3
    frames = list(source.frames())
    assert [f.name for f in frames] == sorted(p.name for p in folder.iterdir())


def test_bad_inputs_raise_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        open_source(tmp_path / "missing.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n")
    with pytest.raises(InputError, match="is not a video ffmpeg can read"):
        open_source(text)
    broken = tmp_path / "truncated.mp4"
    broken.write_bytes((VIDEO / "foreman__cif_h264_conformance.mp4").read_bytes()[:3000])
    with pytest.raises(InputError) as err:
        src = open_source(broken)
        list(src.frames())
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="empty"):
        empty = tmp_path / "empty"
        empty.mkdir()
        open_source(empty)


def test_writer_copies_audio_sets_tags_and_appears_only_when_done(tmp_path):
    source = open_source(VIDEO / "aoc__hdtf_wda_000.mp4")
    out = tmp_path / "out.mp4"
    writer = VideoWriter(out, 512, 512, source.info.fps, audio_from=source.info.path,
                         metadata={"comment": "made with faceswap"})
    for frame in source.frames():
        if frame.index == 50:
            assert not out.exists()          # still under its partial name
        writer.write(frame.image)
    writer.close()
    info = probe(out)
    assert info.has_audio and info.frame_count == 200 and info.fps == 25
    from faceswap.media.ffmpeg_tool import run_ffmpeg
    assert "made with faceswap" in run_ffmpeg(["-hide_banner", "-i", str(out)]).stderr
    assert not list(tmp_path.glob(".*partial*"))


def test_aborted_writer_leaves_nothing(tmp_path):
    out = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(out, 64, 64, Fraction(25)) as writer:
            writer.write(np.zeros((64, 64, 3), np.uint8))
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_rotated_video_is_probed_and_decoded_upright(tmp_path):
    import subprocess
    from faceswap.media.ffmpeg_tool import ffmpeg_exe

    rotated = tmp_path / "rotated.mp4"     # a phone-style file: pixels stored sideways plus a display matrix
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-display_rotation", "90", "-i",
                    str(VIDEO / "obama__weekly_address.mp4"), "-c", "copy", "-t", "1", str(rotated)], check=True)
    info = probe(rotated)
    assert (info.width, info.height, info.rotation) == (388, 512, 270)
    frame = next(open_source(rotated).frames())
    assert frame.image.shape == (512, 388, 3)
