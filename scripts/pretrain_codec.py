"""Pretrain the learned image codecs of chapter 03 and write their weights to data/.

Run from the repository root (377 s in all, measured on one core of a 2-core CPU shared with
other jobs; about 15 minutes when the machine is busier):

    .venv/bin/python scripts/pretrain_codec.py

Seeded and single-threaded, so a run writes the same weights every time; it checkpoints every
``CHECKPOINT_EVERY`` steps under ``.cache/pretrain/`` and resumes from there when restarted
(delete that folder after changing the model or the stages, or it resumes stale state). The
stages run in order: an MSE codec trained from scratch at a middle rate, three fine-tunes of it to
lower and higher rates (other lambdas), and a fine-tune for MS-SSIM. Each writes
``data/codec_<stage>.pt`` (float16 state dict) and logs one line per ``LOG_EVERY`` steps.
Training crops come only from ``ae.compression.TRAINING``; the held-out photographs are never seen.
``--smoke`` runs a few steps of every stage into the temporary folder instead (a quick check of the pipeline).
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path

import torch

from autoencoders.compression import PRETRAIN_STAGES, CompressionModel, CropSampler, PretrainStage, rd_loss

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT_EVERY = 250
LOG_EVERY = 100


def train_stage(stage: PretrainStage, sampler: dict[int, CropSampler], out_dir: Path, ckpt_dir: Path, steps: int) -> Path:
    """Train one stage (resuming from its checkpoint if there is one) and write its weights."""
    out = out_dir / f"codec_{stage.name}.pt"
    ckpt = ckpt_dir / f"{stage.name}.ckpt"
    torch.manual_seed(stage.seed)
    model = CompressionModel()
    if stage.init is not None:
        state = torch.load(out_dir / f"codec_{stage.init}.pt", weights_only=True)
        model.load_state_dict({k: v.float() for k, v in state.items()})
    opt = torch.optim.Adam(model.parameters(), lr=stage.lr)
    gen = torch.Generator().manual_seed(1000 + stage.seed)
    start = 0
    if ckpt.exists():
        saved = torch.load(ckpt, weights_only=True)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        gen.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        start = int(saved["step"])
        print(f"[{stage.name}] resuming at step {start}", flush=True)
    crops = sampler.setdefault(stage.crop, CropSampler(size=stage.crop))
    model.train()
    t0, sums = time.perf_counter(), [0.0, 0.0, 0.0]
    for step in range(start, steps):
        lr = stage.lr * (0.1 if step >= int(0.85 * steps) else 1.0)  # one decay near the end
        for group in opt.param_groups:
            group["lr"] = lr
        x = crops.sample(stage.batch, gen)
        loss, bpp, dist = rd_loss(model, x, stage.lam, stage.distortion)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        for i, v in enumerate((loss, bpp, dist)):
            sums[i] += v.item()
        done = step + 1
        if done % LOG_EVERY == 0:
            n = LOG_EVERY
            print(
                f"[{stage.name}] step {done}/{steps} loss {sums[0] / n:.4f} bpp {sums[1] / n:.4f} "
                f"{stage.distortion} {sums[2] / n:.4f} lr {lr:.1e} {time.perf_counter() - t0:.0f}s",
                flush=True,
            )
            sums = [0.0, 0.0, 0.0]
        if done % CHECKPOINT_EVERY == 0 and done < steps:
            torch.save(
                {"model": model.state_dict(), "optimizer": opt.state_dict(), "generator": gen.get_state(),
                 "torch_rng": torch.get_rng_state(), "step": done},
                ckpt,
            )
    torch.save({k: v.detach().half() for k, v in model.state_dict().items()}, out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    print(f"[{stage.name}] wrote {out} ({out.stat().st_size} bytes, SHA-256 {digest})", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="5 steps per stage, written to the temporary folder")
    parser.add_argument("--only", nargs="*", help="run only these stages (their init stages must exist)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # deterministic, and polite on a shared machine
    torch.use_deterministic_algorithms(True)
    out_dir = Path(tempfile.gettempdir()) / "pretrain_smoke" if args.smoke else ROOT / "data"
    ckpt_dir = out_dir / "ckpt" if args.smoke else ROOT / ".cache" / "pretrain"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    samplers: dict[int, CropSampler] = {}
    for stage in PRETRAIN_STAGES:
        if args.only and stage.name not in args.only:
            continue
        steps = 5 if args.smoke else stage.steps
        t0 = time.perf_counter()
        train_stage(stage, samplers, out_dir, ckpt_dir, steps)
        print(f"[{stage.name}] {steps} steps took {time.perf_counter() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
