"""Pretrain the learned image codecs of chapter 03 and write their weights to data/.

Run from the repository root (``make pretrain`` runs the same; about 5.2 hours on a 2-core
CPU)::

    .venv/bin/python scripts/pretrain_codec.py --jobs 2

The stages are ``autoencoders.compression.PRETRAIN_STAGES``: a shared start (``base``, trained
from scratch), then one MSE model per rate point with a factorised density, each with its own
lambda and thousands of steps of its own; then each of these models with a scale hyperprior
added (a stage that starts from another architecture takes over only its transforms), trained in
two runs, the second of which is the shipped codec; and an MS-SSIM model fine-tuned from one of
them. ``--jobs 2`` trains two stages at once (each in its own process with one thread) as soon
as the stage it starts from is done.

Seeded and single-threaded per process, so a run on the same software writes the same weights;
it checkpoints every ``CHECKPOINT_EVERY`` steps under ``.cache/pretrain/`` and resumes from there
when restarted, and skips a stage that has finished with the same settings (delete that folder
after changing the model, or it resumes stale state). Each stage logs one line per ``LOG_EVERY`` steps (loss, bits per pixel, PSNR or MS-SSIM of
the training crops) and writes ``data/codec_<stage>.pt`` (float16 state dict). Training crops come
only from ``ae.compression.TRAINING``; the held-out photographs are never seen. Uses the GPU when
one is present (``ae.runtime.device()``). ``--smoke`` runs a few steps of every stage into the
temporary folder instead (a quick check of the pipeline).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import math
import multiprocessing
import tempfile
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from autoencoders import training
from autoencoders.compression import (
    PRETRAIN_STAGES, CompressionModel, CropSampler, PretrainStage, pretrain_lineage, rd_loss,
)
from autoencoders.runtime import device

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT_EVERY = 500
LOG_EVERY = 250


def _weights_path(stage: PretrainStage, out_dir: Path, ckpt_dir: Path) -> Path:
    return out_dir / f"codec_{stage.name}.pt" if stage.shipped else ckpt_dir / f"{stage.name}.pt"


def _done_marker(stage: PretrainStage, ckpt_dir: Path) -> Path:
    """Written when a stage has finished; holds its lineage, so a changed stage or start runs again."""
    return ckpt_dir / f"{stage.name}.done"


def _lineage(stage: PretrainStage) -> str:
    """The settings of a stage and of every stage it starts from: a retrained start is a new stage."""
    return "\n".join(map(repr, pretrain_lineage(stage.name)))


def _finished(stage: PretrainStage, out_dir: Path, ckpt_dir: Path) -> bool:
    marker = _done_marker(stage, ckpt_dir)
    return marker.exists() and marker.read_text() == _lineage(stage) and _weights_path(stage, out_dir, ckpt_dir).exists()


def _start_from(model: CompressionModel, stage: PretrainStage, init: PretrainStage, path: Path) -> None:
    """Load the weights of stage ``init``; from another architecture, only the shared transforms."""
    if init.model == stage.model:
        training.load(model, path, device=torch.device("cpu"))
        return
    state = torch.load(path, map_location="cpu", weights_only=True)
    shared = {k: v for k, v in state.items() if k.startswith(("analysis.", "synthesis."))}
    missing, _ = model.load_state_dict(shared, strict=False)
    if any(k.startswith(("analysis.", "synthesis.")) for k in missing):
        raise ValueError(f"{stage.name} and {init.name} have transforms of different shapes")


def train_stage(stage: PretrainStage, out_dir: Path, ckpt_dir: Path, steps: int) -> str:
    """Train one stage (resuming from its checkpoint if there is one) and write its weights."""
    torch.set_num_threads(1)  # deterministic, and polite on a shared machine
    torch.use_deterministic_algorithms(True, warn_only=True)
    dev = device()
    out = _weights_path(stage, out_dir, ckpt_dir)
    ckpt = ckpt_dir / f"{stage.name}.ckpt"
    torch.manual_seed(stage.seed)
    model = stage.build()
    if stage.init is not None:
        init = next(s for s in PRETRAIN_STAGES if s.name == stage.init)
        _start_from(model, stage, init, _weights_path(init, out_dir, ckpt_dir))
    model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=stage.lr)
    gen = torch.Generator().manual_seed(1000 + stage.seed)
    start = 0
    if ckpt.exists():
        saved = torch.load(ckpt, weights_only=True, map_location=dev)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        gen.set_state(saved["generator"].cpu())
        torch.set_rng_state(saved["torch_rng"].cpu())
        start = int(saved["step"])
        print(f"[{stage.name}] resuming at step {start}", flush=True)
    crops = CropSampler(size=stage.crop)
    model.train()
    t0, sums = time.perf_counter(), [0.0, 0.0, 0.0]
    bar = tqdm(range(start, steps), desc=stage.name, initial=start, total=steps, mininterval=60, leave=False)
    for step in bar:
        lr = stage.lr * (0.1 if step >= int(0.9 * steps) else 1.0)  # the last tenth at lr / 10
        for group in opt.param_groups:
            group["lr"] = lr
        x = crops.sample(stage.batch, gen).to(dev)
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
            d = sums[2] / n
            quality = f"PSNR {10 * math.log10(255.0**2 / d):.2f} dB" if stage.distortion == "mse" else f"MS-SSIM {1 - d:.4f}"
            print(
                f"[{stage.name}] step {done}/{steps} loss {sums[0] / n:.4f} bpp {sums[1] / n:.4f} "
                f"{quality} lr {lr:.0e} {time.perf_counter() - t0:.0f}s",
                flush=True,
            )
            sums = [0.0, 0.0, 0.0]
        if done % CHECKPOINT_EVERY == 0 and done < steps:
            state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "generator": gen.get_state(),
                     "torch_rng": torch.get_rng_state(), "step": done}
            torch.save(state, ckpt.with_suffix(".tmp"))
            ckpt.with_suffix(".tmp").replace(ckpt)  # never leave a half-written checkpoint
    bar.close()
    training.save(model, out, dtype=torch.float16)
    _done_marker(stage, ckpt_dir).write_text(_lineage(stage))
    ckpt.unlink(missing_ok=True)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    took = time.perf_counter() - t0
    print(f"[{stage.name}] wrote {out} ({out.stat().st_size} bytes, SHA-256 {digest}), "
          f"{steps - start} steps in {took:.0f}s", flush=True)
    return stage.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="5 steps per stage, written to the temporary folder")
    parser.add_argument("--only", nargs="*", help="run only these stages (the stages they start from must exist)")
    parser.add_argument("--jobs", type=int, default=1, help="stages trained at once, one process and thread each")
    args = parser.parse_args()
    out_dir = Path(tempfile.gettempdir()) / "pretrain_smoke" if args.smoke else ROOT / "data"
    ckpt_dir = out_dir / "ckpt" if args.smoke else ROOT / ".cache" / "pretrain"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    todo = [s for s in PRETRAIN_STAGES if not args.only or s.name in args.only]
    done = {s.name for s in PRETRAIN_STAGES if s not in todo or (not args.smoke and _finished(s, out_dir, ckpt_dir))}
    for stage in [s for s in todo if s.name in done]:
        print(f"[{stage.name}] already trained with these settings; delete {_done_marker(stage, ckpt_dir)} to train it again")
    todo = [s for s in todo if s.name not in done]
    t0 = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=max(1, args.jobs), mp_context=context) as pool:
        running: dict[cf.Future, str] = {}
        while todo or running:
            for stage in [s for s in todo if s.init is None or s.init in done][: max(1, args.jobs) - len(running)]:
                todo.remove(stage)
                steps = 5 if args.smoke else stage.steps
                running[pool.submit(train_stage, stage, out_dir, ckpt_dir, steps)] = stage.name
            if not running:
                raise SystemExit(f"stages {[s.name for s in todo]} start from stages that were not trained")
            finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                done.add(future.result())  # re-raises a stage's error
                del running[future]
    print(f"all stages done in {time.perf_counter() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
