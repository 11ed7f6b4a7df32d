"""Two experiments behind the stabiliser's design (docs/QUALITY.md), on the exact-motion pan and zoom:

1. Blend the network's features or its output pixels? ``features`` warps the previous frame's residual
   features (1/4 size) by the flow and blends them before the decoder; ``pixels`` is the shipped
   stabiliser. Both use DIS flow on the inputs; flicker is measured with the exact flow.
2. Why style distance is measured away from the frame's edge: the plain painting itself, shifted by 1 or 2
   px, changes its whole-frame style distance far more than its interior one.

    python -m scripts.experiments.steady --vgg-weights ../shared/weights --out docs/bench/steady_experiments.json

Decided: the stabiliser blends pixels, not network features, and its style is measured without a 16-px
band at the edge; figures in docs/QUALITY.md and docs/bench/steady_experiments.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from infer.engines import painter_engines
from infer.networks import TorchNetwork
from infer.painters import CHECKPOINTS, style_image_of
from infer.resampling import shift_frame
from infer.steady import MotionTracker, stabilize_frames
from nets.files import write_json
from nets.images import load_image
from nets.losses import JOHNSON_CONTENT_LAYERS, JOHNSON_STYLE_LAYERS, PerceptualLoss
from nets.metrics import sharpness, warping_error
from nets.painter import load_painter
from nets.vgg import VGGFeatures
from nets.warp import flow_to_tensor, warp
from scripts.bench.steady import SHARED, distances, motions_of, rgb
from scripts.helpers.known_motion import camera_move


class FeatureBlend:
    """The previous frame's residual features warped by the flow (at 1/4 size) and blended before the decoder,
    where the flow is trusted."""

    def __init__(self, painter: Path, row: int, keep: float) -> None:
        self.net = load_painter(painter)[0].eval()
        self.mix = F.one_hot(torch.tensor([row]), self.net.painters).float()
        self.keep, self.tracker, self.previous = keep, MotionTracker(), None

    @torch.no_grad()
    def __call__(self, frame: np.ndarray) -> np.ndarray:
        motion = self.tracker(frame)
        x = torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255
        features = self.net.residuals(self.net.encoder(x, self.mix), self.mix)
        if motion is not None and not motion.cut and self.previous is not None:
            size = features.shape[-2:]
            flow = F.interpolate(flow_to_tensor(motion.flow), size=size, mode="bilinear") / 4
            trust = F.interpolate(torch.from_numpy(motion.trust)[None, None], size=size, mode="area")
            features = features + self.keep * trust * (warp(self.previous, flow) - features)
        self.previous = features
        out = torch.sigmoid(self.net.decoder(features, self.mix))[0].permute(1, 2, 0)
        return (out * 255).round().byte().numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--painter", default="vangogh_starry_night", help="a painter of the shipped family")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--vgg-weights", default="")
    parser.add_argument("--out", type=Path, default=Path("steady_experiments.json"))
    args = parser.parse_args()
    family = CHECKPOINTS / "four_painters.pt"
    engines = {e.name: e for e in painter_engines(TorchNetwork(family, torch.device("cpu")))}
    engine, row = engines[args.painter], list(engines).index(args.painter)
    vgg = VGGFeatures("vgg16", JOHNSON_STYLE_LAYERS + JOHNSON_CONTENT_LAYERS, args.vgg_weights or None)
    criterion = PerceptualLoss(vgg, [load_image(style_image_of(engine.record, family), 512,
                                                engine.record.get("style_crop") or 0.0)])
    photos = sorted((SHARED / "data" / "photos" / "val").glob("*.jpg"))
    blends, edges = [], []
    for k, kind in enumerate(("pan", "zoom")):
        clip = camera_move(rgb(photos[k]), kind, args.frames, 320, 180)
        motions = motions_of(clip, True)
        floor = warping_error(clip.frames, clip.frames, motions)[0]
        plain = [engine(f[None])[0] for f in clip.frames]
        ways = {"plain": plain}
        for keep in (0.5, 0.8):
            blend = FeatureBlend(family, row, keep)
            ways[f"features, keep {keep:g}"] = [blend(f) for f in clip.frames]
        for strength in (0.5, 0.75):
            ways[f"pixels (shipped), strength {strength:g}"] = stabilize_frames(engine, clip.frames, strength)
        for way, frames in ways.items():
            blends.append({"clip": kind, "way": way, "flicker": warping_error(clip.frames, frames, motions)[0] / floor,
                           "sharpness": sharpness(frames) / sharpness(plain),
                           "style_change": distances(criterion, clip.frames, frames, 16)[0]
                           / distances(criterion, clip.frames, plain, 16)[0] - 1})
            print(f"{kind:5s} {way:32s} flicker {blends[-1]['flicker']:.2f}x  sharpness {blends[-1]['sharpness']:.2f}"
                  f"  style {100 * blends[-1]['style_change']:+.1f}%", flush=True)
        if kind == "pan":
            for by in (1.0, 2.0):
                moved = [shift_frame(f, np.array([by, by])) for f in plain]
                row_ = {"shift_px": by}
                for label, margin in (("whole_frame", 0), ("interior", 16)):
                    row_[label] = distances(criterion, clip.frames, moved, margin)[0] / distances(
                        criterion, clip.frames, plain, margin)[0] - 1
                edges.append(row_)
                print(f"plain painting shifted by {by:g} px: style {100 * row_['whole_frame']:+.1f}% over the whole "
                      f"frame, {100 * row_['interior']:+.1f}% without a 16-px edge", flush=True)
    write_json(args.out, {"painter": args.painter, "size": "320x180", "frames": args.frames, "blends": blends,
                          "edge_sensitivity": edges})


if __name__ == "__main__":
    main()
