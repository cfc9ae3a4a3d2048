"""Assemble a model bundle from finished training runs, with its provenance and model card.

    python -m train.bundle --tokenizer runs/stage3/tokenizer --decoder runs/stage3/decoder \\
        --ar runs/stage2/model --video runs/stage4/video \\
        --runs runs/stage0-clip runs/stage0-vae runs/stage1 runs/stage3 runs/stage2 runs/stage4 \\
        --out assets/bundle

The component folders are copied (safetensors + configs only: optimizer states, checkpoints and
token caches stay in the runs). The manifest's `training` entry records, for every run, the
exact commands that produced it (OUT/commands.txt, one line per invocation, resumes included),
its resolved settings, the last step and the last logged losses; MODEL_CARD.md says the same
for people. The assembled folder is loaded with `core.pipeline.load_bundle` before it replaces
an existing one, so a broken bundle never overwrites a working one.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from core.ar.sampler import SamplerConfig
from core.pipeline.bundle import (
    BundleError,
    BundleManifest,
    Components,
    FolderComponent,
    load_bundle,
    read_manifest,
)
from core.pipeline.types import GenerationSettings
from core.video.loading import ANCHOR_FILE, load_video_pipeline

# What a component folder may hold in a bundle: weights as safetensors, configs and tokenizers.
_KEEP_SUFFIXES = {".safetensors", ".json", ".txt", ".model"}


def run_record(folder: str | Path) -> dict:
    """Provenance of one training run folder: commands, settings, last step and losses."""
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(
            f"{folder} is not a training run folder (no config.json); give the --out folder of a train/ stage."
        )
    config = json.loads(config_path.read_text())
    commands_path = folder / "commands.txt"
    commands = commands_path.read_text().splitlines() if commands_path.is_file() else []
    last: dict[str, dict] = {}
    log_path = folder / "log.jsonl"
    if log_path.is_file():
        for line in log_path.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                last[str(record.get("phase", "train"))] = record
    steps = max((int(r.get("step", 0)) for r in last.values()), default=0)
    return {
        "stage": config.get("stage"),
        "folder": folder.name,
        "commands": commands,
        "config": config,
        "last_step": steps,
        "last_logged": last,
    }


def copy_weights(source: Path, destination: Path, dtype: torch.dtype | None) -> None:
    """Copy a safetensors file, storing its floating-point tensors as `dtype` when given."""
    if dtype is None:
        shutil.copy2(source, destination)
        return
    with safe_open(source, framework="pt") as f:
        metadata = f.metadata()
        tensors = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)
    tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}
    save_file(tensors, destination, metadata=metadata)


def copy_component(source: str | Path, target: Path, dtype: torch.dtype | None = None) -> int:
    """Copy a saved component (configs + safetensors), returning its size in bytes.

    dtype: store floating-point weights in this precision (float16 halves the default bundle;
    `load_bundle` computes in float32 whatever the stored precision).
    """
    source = Path(source)
    if not source.is_dir():
        raise FileNotFoundError(
            f"The component folder {source} does not exist; finish that training stage first."
        )
    size = 0
    for path in sorted(source.rglob("*")):
        if path.is_file() and path.suffix in _KEEP_SUFFIXES:
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".safetensors":
                copy_weights(path, destination, dtype)
            else:
                shutil.copy2(path, destination)
            size += destination.stat().st_size
    if size == 0:
        raise FileNotFoundError(f"The component folder {source} holds no weights or configs.")
    return size


def drop_clip_text_tower(folder: Path, dtype: torch.dtype | None) -> int:
    """Rewrite a saved CLIP folder without its text tower (weights stored as `dtype`); its new size."""
    from core.encoders.open_clip_encoder import OpenClipEncoder

    image_only = folder.with_name(folder.name + ".image-only")
    OpenClipEncoder.from_pretrained(folder).save_pretrained(image_only, text_tower=False)
    shutil.rmtree(folder)
    try:
        return copy_component(image_only, folder, dtype)
    finally:
        shutil.rmtree(image_only, ignore_errors=True)


def same_folder(a: Path, b: Path) -> bool:
    """True when two folders hold the same files with the same bytes."""
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return files_a == files_b and all((a / f).read_bytes() == (b / f).read_bytes() for f in files_a)


def share_anchor_tower(bundle: Path) -> bool:
    """Point the video model's anchor tower at the tokenizer's CLIP when they are the same model.

    Stage 4 trains on stage 0's frozen CLIP, which is also the tokenizer's: one copy in the
    bundle instead of two (its text embedding table alone is most of the CLIP's size).
    """
    anchor_file = bundle / "video" / ANCHOR_FILE
    if not anchor_file.is_file():
        return False
    anchor = json.loads(anchor_file.read_text())
    tower, shared = bundle / "video" / anchor["folder"], bundle / "tokenizer" / "clip"
    if tower.resolve() == shared.resolve():  # a video folder copied from an assembled bundle
        return shared.is_dir()
    if not (tower.is_dir() and shared.is_dir() and same_folder(tower, shared)):
        return False
    shutil.rmtree(tower)
    anchor["folder"] = "../tokenizer/clip"
    anchor_file.write_text(json.dumps(anchor, indent=2))
    return True


def model_card(manifest: BundleManifest, sizes: dict[str, int], runs: list[dict]) -> str:
    lines = [
        f"# Model bundle: {manifest.name}",
        "",
        manifest.description,
        "",
        "## Components",
        "",
        "| component | folder | size |",
        "|---|---|---|",
    ]
    for name, size in sizes.items():
        lines.append(f"| {name} | `{name}/` | {size / 2**20:.1f} MB |")
    lines += [
        f"| descriptions | {manifest.components.descriptions.kind} (all-MiniLM-L6-v2, pretrained, packaged) | - |",
        f"| faces | {manifest.components.faces.kind} (the tokenizer's CLIP image tower on face crops) | - |",
        "",
        f"Sampler: context window {manifest.sampler.context_frames} frames, keep "
        f"{manifest.sampler.keep_frames} when sliding. Defaults: {manifest.defaults.num_inference_steps} "
        f"denoising steps, guidance {manifest.defaults.guidance_scale}.",
        "",
        "## How it was made",
        "",
        "Every command below ran from the repository root on the 2-core CPU machine, in this order;",
        "a repeated command is a resume (`--resume auto` is the default). The toy dataset came from",
        "`python -m train.data.toy_cinema export`, as the README says.",
        "",
    ]
    for run in runs:
        lines.append(f"### {run['stage']} (`{run['folder']}`), last step {run['last_step']}")
        lines.append("")
        lines.append("```")
        lines += run["commands"] or ["(no commands.txt in this run folder)"]
        lines.append("```")
        for phase, record in run["last_logged"].items():
            losses = ", ".join(
                f"{k} {v:.4g}"
                for k, v in record.items()
                if k not in ("step", "phase", "lr") and isinstance(v, float)
            )
            lines.append(f"- last logged `{phase}` step {record.get('step')}: {losses}")
        lines.append("")
    earlier = manifest.training.get("earlier_assemble_args", [])
    header = "Assembled with (the earlier bundles' commands first; the runs above were kept from them):"
    lines += [header if earlier else "Assembled with:", "", "```"]
    for args in earlier:
        lines.append("python -m train.bundle " + " ".join(args))
    lines += ["python -m train.bundle " + " ".join(manifest.training.get("assemble_args", [])), "```", ""]
    return "\n".join(lines)


def assemble(
    out: str | Path,
    *,
    tokenizer: str | Path,
    decoder: str | Path,
    ar: str | Path,
    video: str | Path | None = None,
    runs: list[str | Path] = (),
    name: str = "moviedreamer-toy-default",
    description: str = "",
    sampler: SamplerConfig | None = None,
    defaults: GenerationSettings | None = None,
    assemble_args: list[str] | None = None,
    dtype: torch.dtype | None = None,
    inherit_runs: str | Path | None = None,
    clip_text_tower: bool = True,
) -> Path:
    """Write a complete, loadable bundle to `out` (replacing it only once the new one loads).

    `inherit_runs` is an earlier bundle whose recorded training runs are kept in front of
    `runs` (for components copied from it whose run folders no longer exist); a run in `runs`
    replaces the inherited record of the same folder name. clip_text_tower=False stores the
    tokenizer's CLIP without its text tower (same image tokens; the bundle embeds sentences
    with its description encoder, so only the old CLIP-score column used that tower).
    """
    out = Path(out)
    records = [run_record(folder) for folder in runs]
    training: dict = {}
    if inherit_runs is not None:
        earlier = read_manifest(inherit_runs).training
        fresh = {r["folder"] for r in records}
        records = [r for r in earlier.get("runs", []) if r.get("folder") not in fresh] + records
        training["earlier_assemble_args"] = earlier.get("earlier_assemble_args", []) + [
            earlier.get("assemble_args", [])
        ]
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".bundle-", dir=out.parent))
    try:
        sizes = {
            "tokenizer": copy_component(tokenizer, staging / "tokenizer", dtype),
            "decoder": copy_component(decoder, staging / "decoder", dtype),
            "ar": copy_component(ar, staging / "ar", dtype),
        }
        if video:
            sizes["video"] = copy_component(video, staging / "video", dtype)
            if share_anchor_tower(staging):
                sizes["video"] = sum(p.stat().st_size for p in (staging / "video").rglob("*") if p.is_file())
        if not clip_text_tower:  # after the sharing above, so a shared anchor tower sees the same folder
            drop_clip_text_tower(staging / "tokenizer" / "clip", dtype)
            sizes["tokenizer"] = sum(
                p.stat().st_size for p in (staging / "tokenizer").rglob("*") if p.is_file()
            )
        manifest = BundleManifest(
            name=name,
            description=description,
            components=Components(
                tokenizer=FolderComponent(path="tokenizer"),
                decoder=FolderComponent(path="decoder"),
                ar=FolderComponent(path="ar"),
                video=FolderComponent(path="video") if video else None,
            ),
            sampler=sampler or SamplerConfig(),
            defaults=defaults or GenerationSettings(),
            training={"runs": records, "assemble_args": list(assemble_args or [])} | training,
        )
        manifest.save(staging)
        (staging / "MODEL_CARD.md").write_text(model_card(manifest, sizes, records))
        load_bundle(staging)  # refuse to install a bundle that does not load
        if video:
            load_video_pipeline(staging / "video")
        if out.exists():
            backup = out.with_name(out.name + ".previous")
            shutil.rmtree(backup, ignore_errors=True)
            out.rename(backup)
            staging.rename(out)
            shutil.rmtree(backup)
        else:
            staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m train.bundle",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--tokenizer", required=True, help="keyframe tokenizer folder (stage 1 or 3: OUT/tokenizer)"
    )
    parser.add_argument("--decoder", required=True, help="decoder pipeline folder (stage 3: OUT/decoder)")
    parser.add_argument("--ar", required=True, help="AR model folder (stage 2: OUT/model)")
    parser.add_argument("--video", help="image-to-video model folder (stage 4: OUT/video)")
    parser.add_argument("--runs", nargs="*", default=[], help="training run folders, for provenance")
    parser.add_argument(
        "--inherit-runs",
        default=None,
        help="an earlier bundle folder whose recorded runs are kept (components copied from it whose "
        "run folders are gone); a --runs folder of the same name replaces its record",
    )
    parser.add_argument("--out", default="assets/bundle", help="bundle folder to write")
    parser.add_argument("--name", default="moviedreamer-toy-default")
    parser.add_argument(
        "--description", default="The embedded default bundle, trained on the toy-cinema world on CPU."
    )
    parser.add_argument("--context-frames", type=int, default=128)
    parser.add_argument("--keep-frames", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20, help="default denoising steps")
    parser.add_argument("--guidance", type=float, default=2.0, help="default classifier-free guidance")
    parser.add_argument(
        "--face-guidance",
        type=float,
        default=1.0,
        help="default identity guidance from the cast photos (1 = off)",
    )
    parser.add_argument(
        "--dtype",
        choices=["float32", "float16"],
        default="float32",
        help="storage precision of the weights (computation is float32 either way)",
    )
    parser.add_argument(
        "--drop-clip-text-tower",
        action="store_true",
        help="store the tokenizer's CLIP without its text tower (its token table is most of its size)",
    )
    args = parser.parse_args(argv)
    try:
        folder = assemble(
            args.out,
            tokenizer=args.tokenizer,
            decoder=args.decoder,
            ar=args.ar,
            video=args.video,
            runs=args.runs,
            name=args.name,
            description=args.description,
            sampler=SamplerConfig(context_frames=args.context_frames, keep_frames=args.keep_frames),
            defaults=GenerationSettings(
                num_inference_steps=args.steps,
                guidance_scale=args.guidance,
                face_guidance_scale=args.face_guidance,
            ),
            assemble_args=list(argv) if argv is not None else sys.argv[1:],
            dtype=None if args.dtype == "float32" else getattr(torch, args.dtype),
            inherit_runs=args.inherit_runs,
            clip_text_tower=not args.drop_clip_text_tower,
        )
    except (FileNotFoundError, BundleError) as error:
        parser.exit(2, f"error: {error}\n")
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"wrote the bundle {folder} ({total / 2**20:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
