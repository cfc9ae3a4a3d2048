"""The real-movie data pipeline (paper App. B, Figures 14-15): from films to training data.

    films --keyframes--> --people--> --characters--> --captions--> --script--> --export--> shards
                                                                                  + token cache

* `pipeline`    orchestration, run reports, sharding over workers, merge, the CLI
* `work`        the per-video, per-stage cache on disk that makes runs resumable
* `keyframes`   stage 1: decode, cut detection, a keyframe every N frames, 7:4 crop
* `people`      stage 2: person and face detection, face crops and embeddings
* `face_layout` the training-free face descriptor used when no trained face model is given
* `characters`  stage 3: agglomerative clustering of faces into characters with face banks
* `captions`    stage 4: VLM captions (or a toy-cinema video's ground truth)
* `structuring` stage 5: the paper's three LLM prompts, parsed and validated by core.script
* `output`      stage 6: `datasets` Parquet rows and shards, the stage-2 token cache, merging
* `toy_video`   toy-cinema movies rendered as MP4 films with cuts, and their ground truth
* `ground_truth` detected faces matched to a toy video's cast (naming, cluster purity)
* `tiny_models` tiny random-config VLM, LLM and Grounding DINO folders for tests and benches
* `errors`      `VideoError`, the sentence a failed video is reported with

    python -m train.data.movies run FILMS... --out OUT [--vlm DIR --llm DIR] [--worker I --workers N]
    python -m train.data.movies merge --out OUT
"""
