"""Clips as phones and other tools make them: rotated, anamorphic, several tracks, odd containers, damaged.

The painter runs at strength 0 (it gives the input back), so the geometry and timing of the output can be
compared with the input frame by frame.
"""

import logging
from fractions import Fraction

import av
import numpy as np
import pytest

from infer.stylizer import Stylizer
from infer.video import RenderOptions, probe
from tests.clips import decoded_frames, make_clip, packets


@pytest.fixture(scope="module")
def identity(tiny_painter) -> Stylizer:
    return Stylizer(tiny_painter, engine="torch", device="cpu", strength=0.0)


def marked_frames(count: int, noise: bool = False) -> list[np.ndarray]:
    """64×48 frames with a red square in the top left corner (so a turn shows) and a brightness ramp."""
    rng = np.random.default_rng(0)
    frames = []
    for i in range(count):
        frame = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) if noise else np.full((48, 64, 3), 60, np.uint8)
        frame[:16, :16] = (255, 0, 0)
        frame[..., 1] = np.clip(frame[..., 1].astype(int) + 8 * i, 0, 255)
        frames.append(frame)
    return frames


def render(identity: Stylizer, src, dst, **options) -> int:
    return identity.video(src, dst, RenderOptions(progress=False, **options)).frames


def test_a_rotated_phone_clip_is_painted_upright(identity, tmp_path):
    src, dst = tmp_path / "phone.mp4", tmp_path / "out.mp4"
    make_clip(src, marked_frames(6), fps=10, rotation=90)  # shown turned a quarter counter-clockwise
    assert (probe(src).width, probe(src).height, probe(src).rotation) == (48, 64, 90)
    assert render(identity, src, dst) == 6
    info = probe(dst)
    assert (info.width, info.height, info.rotation) == (48, 64, 0)  # upright pixels, no rotation left to apply
    first = decoded_frames(dst)[0].astype(int)
    assert first[-16:, :16, 0].mean() > 200 and first[:16, :16, 0].mean() < 120  # the corner turned with it


def test_an_anamorphic_clip_keeps_its_pixel_shape(identity, tmp_path):
    src, dst = tmp_path / "wide.mp4", tmp_path / "out.mp4"
    make_clip(src, marked_frames(4), fps=10, sample_aspect_ratio=Fraction(4, 3))
    render(identity, src, dst)
    assert probe(dst).sample_aspect_ratio == Fraction(4, 3)


def audio_seconds(path) -> list[tuple[str, float]]:
    """(codec, seconds of sound) of each audio track."""
    with av.open(str(path)) as container:
        streams = [(s.codec_context.name, s.codec_context.sample_rate) for s in container.streams.audio]
    lengths = []
    for k, (codec, rate) in enumerate(streams):
        with av.open(str(path)) as container:
            lengths.append((codec, sum(f.samples for f in container.decode(audio=k)) / rate))
    return lengths


def test_every_audio_track_is_kept_and_what_cannot_be_copied_is_re_encoded(identity, tmp_path, caplog):
    src, dst = tmp_path / "two.mp4", tmp_path / "out.mp4"
    make_clip(src, marked_frames(10), fps=10, audio=("aac", "aac"), language="fra",
              tags={"creation_time": "2024-05-01T10:00:00.000000Z", "title": "Vacances"})
    render(identity, src, dst)
    for track in (0, 1):
        assert packets(dst, "audio", track) == packets(src, "audio", track)  # copied, not re-encoded
    with av.open(str(dst)) as container:  # the tags go along
        assert container.metadata["creation_time"].startswith("2024-05-01T10:00:00")
        assert container.metadata["title"] == "Vacances"
        assert [s.metadata.get("language") for s in container.streams] == ["fra", "fra", "fra"]
    # Opus into .mov, and a camera's µ-law PCM from an AVI into .mp4: neither container holds them, so
    # they come out as AAC of the same length, with a note, instead of failing after the painting
    opus, mov = tmp_path / "opus.mkv", tmp_path / "out.mov"
    make_clip(opus, marked_frames(10), fps=10, audio=("libopus",))
    camera, mp4 = tmp_path / "camera.avi", tmp_path / "camera.mp4"
    make_clip(camera, marked_frames(10), fps=10, audio=("pcm_mulaw",), container="avi", video_codec="mpeg4")
    with caplog.at_level(logging.WARNING):
        assert render(identity, opus, mov) == 10
        assert render(identity, camera, mp4) == 10
    assert ".mov cannot hold audio track 1 (opus) as it is: re-encoded to AAC" in caplog.text
    assert ".mp4 cannot hold audio track 1 (pcm_mulaw) as it is: re-encoded to AAC" in caplog.text
    for out in (mov, mp4):
        [(codec, seconds)] = audio_seconds(out)
        assert codec == "aac" and seconds == pytest.approx(1.0, abs=0.05)


def test_times_count_from_the_clips_first_frame(identity, tmp_path):
    ts = tmp_path / "broadcast.ts"
    make_clip(ts, marked_frames(12), fps=12, container="mpegts")
    assert probe(ts).start > 0  # MPEG-TS starts its clock late
    assert render(identity, ts, tmp_path / "all.mp4") == 12
    assert render(identity, ts, tmp_path / "part.mp4", start=0.25, duration=0.5) == 6
    part = [f[..., 1].mean() for f in decoded_frames(tmp_path / "part.mp4")]
    whole = [f[..., 1].mean() for f in decoded_frames(tmp_path / "all.mp4")]
    assert abs(part[0] - whole[3]) < 3  # 0.25 s in at 12 frames/s: the fourth frame


def test_a_raw_stream_without_timestamps_renders_every_frame(identity, tmp_path):
    raw = tmp_path / "camera.h264"
    make_clip(raw, marked_frames(12), fps=12, container="h264")
    assert render(identity, raw, tmp_path / "out.mp4") == 12
    assert probe(tmp_path / "out.mp4").frames == 12


def test_a_truncated_clip_renders_what_is_there_and_says_so(identity, tmp_path, caplog):
    full, cut = tmp_path / "full.mp4", tmp_path / "cut.mp4"
    make_clip(full, marked_frames(25, noise=True), fps=10, options={"movflags": "+faststart"})
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])  # a download that stopped: the index promises 25 frames
    with caplog.at_level(logging.WARNING):
        rendered = render(identity, cut, tmp_path / "out.mp4")
    assert 0 < rendered < 25
    assert f"ended after {rendered} of its 25 frames" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        ranged = render(identity, cut, tmp_path / "range.mp4", start=0.5, duration=2.0)  # 20 frames asked
    assert ranged == rendered - 5
    assert f"ended after {ranged} of the 20 frames expected in the range" in caplog.text


def test_an_avi_with_b_frames_keeps_its_frames_in_order(identity, tmp_path):
    """AVI stores frame numbers in decoding order, which B-frames put out of order: the frames follow one
    another at the clip's rate (this once failed at the end with a traceback)."""
    src, dst = tmp_path / "camera.avi", tmp_path / "out.mp4"
    make_clip(src, marked_frames(10), fps=10, container="avi")  # x264 with B-frames
    assert render(identity, src, dst) == 10
    with av.open(str(dst)) as container:
        assert [round(frame.time, 3) for frame in container.decode(video=0)] == [k / 10 for k in range(10)]
    green = [frame[16:, 16:, 1].mean() for frame in decoded_frames(dst)]  # marked_frames brighten by 8 a frame
    assert all(b - a > 4 for a, b in zip(green, green[1:], strict=False))
