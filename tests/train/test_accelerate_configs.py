"""train/accelerate_configs/*.yaml: accelerate's own launcher reads them into the intended FSDP setup."""

from __future__ import annotations

from pathlib import Path

import transformers
from accelerate.commands.launch import _validate_launch_command, launch_command_parser
from accelerate.utils.launch import prepare_multi_gpu_env

FSDP = Path(__file__).resolve().parents[2] / "train" / "accelerate_configs" / "fsdp.yaml"


def test_the_fsdp_config_shards_llama_layers_and_keeps_lora_trainable():
    args = launch_command_parser().parse_args(
        ["--config_file", str(FSDP), "-m", "train.stage2_ar", "--preset", "paper"]
    )
    _validate_launch_command(args)
    assert args.use_fsdp and args.num_processes == 8 and args.mixed_precision == "bf16"
    env = prepare_multi_gpu_env(args)
    # What the launched processes read into accelerate's FSDP plugin (building the plugin here
    # would need a GPU).
    assert env["ACCELERATE_USE_FSDP"] == "true"
    assert env["FSDP_VERSION"] == "1"
    # The wrapped unit is the class transformers' Llama is built of.
    assert env["FSDP_TRANSFORMER_CLS_TO_WRAP"] == "LlamaDecoderLayer"
    assert hasattr(transformers.models.llama.modeling_llama, "LlamaDecoderLayer")
    assert env["FSDP_AUTO_WRAP_POLICY"] == "TRANSFORMER_BASED_WRAP"
    assert env["FSDP_SHARDING_STRATEGY"] == "FULL_SHARD"
    # Frozen base weights and trainable LoRA adapters share FSDP units only with use_orig_params.
    assert env["FSDP_USE_ORIG_PARAMS"] == "true"
    # Stage 2 saves its model from the full state dict gathered on the main process.
    assert env["FSDP_STATE_DICT_TYPE"] == "FULL_STATE_DICT"
    # The stage checkpoints activations itself; FSDP must not wrap the layers a second time.
    assert env["FSDP_ACTIVATION_CHECKPOINTING"] == "false"
