"""train.bundle: assembling a bundle from run folders, with provenance, refusing broken parts."""

import json
import shutil

import pytest

from core.pipeline.bundle import BundleError, load_bundle, read_manifest
from core.pipeline.tiny import build_tiny_bundle
from train.bundle import assemble, main, run_record


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    return build_tiny_bundle(tmp_path_factory.mktemp("tiny"))


def fake_run(folder, stage, steps):
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"stage": stage, "preset": "default", "steps": steps}))
    (folder / "commands.txt").write_text(
        f"python -m train.{stage} --preset default --out {folder.name}\n"
        f"python -m train.{stage} --preset default --out {folder.name}\n"
    )
    logs = [{"step": s, "phase": "train", "lr": 1e-4, "loss": 1.0 / s} for s in range(10, steps + 1, 10)]
    (folder / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in logs))
    (folder / "checkpoints").mkdir()
    return folder


def assemble_from(source, out, **options):
    """`assemble` with the tokenizer, decoder and AR model of the bundle (or parts) folder `source`."""
    return assemble(
        out, tokenizer=source / "tokenizer", decoder=source / "decoder", ar=source / "ar", **options
    )


def test_run_record_reads_commands_steps_and_last_losses(tmp_path):
    record = run_record(fake_run(tmp_path / "stage2", "stage2_ar", 30))
    assert record["stage"] == "stage2_ar"
    assert len(record["commands"]) == 2
    assert record["last_step"] == 30
    assert record["last_logged"]["train"]["loss"] == pytest.approx(1 / 30)


def test_assembled_bundle_loads_and_records_provenance(parts, tmp_path):
    runs = [
        fake_run(tmp_path / "runs" / "stage1", "stage1", 20),
        fake_run(tmp_path / "runs" / "stage2", "stage2", 40),
    ]
    out = assemble_from(
        parts,
        tmp_path / "bundle",
        runs=runs,
        assemble_args=["--out", "x"],
    )
    bundle = load_bundle(out)
    assert bundle.tokenizer.num_tokens == 2
    manifest = read_manifest(out)
    assert [r["stage"] for r in manifest.training["runs"]] == ["stage1", "stage2"]
    assert manifest.training["runs"][1]["last_step"] == 40
    card = (out / "MODEL_CARD.md").read_text()
    assert "python -m train.stage2 --preset default --out stage2" in card
    assert "last step 40" in card
    assert not list(out.rglob("checkpoints"))
    assert all(p.suffix in {".json", ".safetensors", ".md"} for p in out.rglob("*") if p.is_file())


def test_a_broken_component_never_replaces_a_working_bundle(parts, tmp_path):
    out = assemble(
        tmp_path / "bundle", tokenizer=parts / "tokenizer", decoder=parts / "decoder", ar=parts / "ar"
    )
    before = (out / "manifest.json").read_text()
    # the decoder given as the AR model: the widths do not fit, so loading fails
    with pytest.raises(BundleError, match="could not be loaded"):
        assemble(out, tokenizer=parts / "tokenizer", decoder=parts / "decoder", ar=parts / "decoder")
    assert (out / "manifest.json").read_text() == before
    load_bundle(out)
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]


def test_cli_reports_a_missing_component_folder(parts, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "--tokenizer",
                str(parts / "tokenizer"),
                "--decoder",
                str(tmp_path / "nope"),
                "--ar",
                str(parts / "ar"),
                "--out",
                str(tmp_path / "b"),
            ]
        )
    assert exit_info.value.code == 2
    assert "does not exist; finish that training stage first" in capsys.readouterr().err


def test_float16_storage_halves_the_weights_and_loads_as_float32(parts, tmp_path):
    import torch

    full = assemble(
        tmp_path / "fp32", tokenizer=parts / "tokenizer", decoder=parts / "decoder", ar=parts / "ar"
    )
    half = assemble_from(
        parts,
        tmp_path / "fp16",
        dtype=torch.float16,
    )

    def weight_bytes(folder):
        return sum(p.stat().st_size for p in folder.rglob("*.safetensors"))

    assert weight_bytes(half) < 0.6 * weight_bytes(full)
    a, b = load_bundle(full), load_bundle(half)
    modules = lambda x: [x.tokenizer.clip.model, x.tokenizer.compressor, x.decoder.unet, x.decoder.vae, x.ar]  # noqa: E731
    for module in modules(b):
        assert {p.dtype for p in module.parameters()} == {torch.float32}
    for ma, mb in zip(modules(a), modules(b), strict=True):
        for (name, pa), (_, pb) in zip(ma.state_dict().items(), mb.state_dict().items(), strict=True):
            if pa.is_floating_point():
                assert torch.allclose(pa, pb, atol=1e-3, rtol=1e-3), name


def test_video_anchor_tower_shares_the_tokenizers_clip(parts, tmp_path):
    import torch

    from core.encoders.open_clip_encoder import OpenClipEncoder
    from core.video.config import build_scheduler, build_unet, build_vae, preset
    from core.video.image_embedder import OpenClipImageEmbedder
    from core.video.loading import load_video_pipeline, save_video_pipeline
    from core.video.pipeline import AnchoredVideoPipeline

    clip = OpenClipEncoder.from_pretrained(parts / "tokenizer" / "clip").freeze()
    cfg = preset("tiny", image_embed_dim=clip.embed_dim)
    torch.manual_seed(0)
    pipe = AnchoredVideoPipeline(
        vae=build_vae(cfg).eval(),
        image_encoder=OpenClipImageEmbedder(clip.model, clip.image_size, clip.mean, clip.std),
        unet=build_unet(cfg).eval(),
        scheduler=build_scheduler(cfg),
    )
    save_video_pipeline(pipe, tmp_path / "video", clip_encoder=clip)
    out = assemble_from(
        parts,
        tmp_path / "bundle",
        video=tmp_path / "video",
    )
    anchor = json.loads((out / "video" / "anchor_encoder.json").read_text())
    assert anchor["folder"] == "../tokenizer/clip"
    assert not (out / "video" / "clip").exists()
    loaded = load_video_pipeline(out / "video")
    assert isinstance(loaded.image_encoder, OpenClipImageEmbedder)
    # a bundle rebuilt from this one (its video already shares the tower) keeps the tower
    again = assemble_from(out, tmp_path / "again", video=out / "video")
    assert (again / "tokenizer" / "clip" / "open_clip_config.json").is_file()
    assert isinstance(load_video_pipeline(again / "video").image_encoder, OpenClipImageEmbedder)


def test_a_rebuilt_bundle_keeps_the_runs_of_the_bundle_it_copies(parts, tmp_path):
    old_runs = [
        fake_run(tmp_path / "runs" / "stage1", "stage1", 20),
        fake_run(tmp_path / "runs" / "stage4", "stage4", 30),
    ]
    first = assemble_from(
        parts,
        tmp_path / "first",
        runs=old_runs,
        assemble_args=["--out", "first"],
    )
    for folder in old_runs:
        shutil.rmtree(folder)  # the runs are gone; their records live on in the first bundle
    new_run = fake_run(tmp_path / "new" / "stage4", "stage4", 50)  # same folder name: replaces
    extra = fake_run(tmp_path / "new" / "stage4l", "stage4", 60)
    second = assemble_from(
        first,
        tmp_path / "second",
        runs=[new_run, extra],
        assemble_args=["--out", "second"],
        inherit_runs=first,
    )
    training = read_manifest(second).training
    assert [(r["folder"], r["last_step"]) for r in training["runs"]] == [
        ("stage1", 20),
        ("stage4", 50),
        ("stage4l", 60),
    ]
    card = (second / "MODEL_CARD.md").read_text()
    assert "python -m train.stage1 --preset default --out stage1" in card  # its folder is not needed
    assert card.index("python -m train.bundle --out first") < card.index(
        "python -m train.bundle --out second"
    )
    with pytest.raises(BundleError, match="no manifest.json"):
        assemble(
            tmp_path / "third",
            tokenizer=first / "tokenizer",
            decoder=first / "decoder",
            ar=first / "ar",
            inherit_runs=tmp_path / "runs",
        )


def test_a_bundle_without_the_clip_text_tower_is_smaller_and_tokenizes_the_same(parts, tmp_path):
    import torch
    from PIL import Image

    full = assemble_from(parts, tmp_path / "full")
    lean = assemble_from(parts, tmp_path / "lean", clip_text_tower=False)
    clip_bytes = lambda b: (b / "tokenizer" / "clip" / "open_clip_model.safetensors").stat().st_size  # noqa: E731
    assert clip_bytes(lean) < clip_bytes(full) / 2
    a, b = load_bundle(full), load_bundle(lean)
    assert a.tokenizer.clip.has_text_tower and not b.tokenizer.clip.has_text_tower
    images = [Image.new("RGB", (224, 128), (200, 30, 30)), Image.new("RGB", (224, 128), (20, 90, 200))]
    assert torch.equal(a.tokenizer.encode(images), b.tokenizer.encode(images))
    assert torch.equal(a.faces.embed_crops(images), b.faces.embed_crops(images))
