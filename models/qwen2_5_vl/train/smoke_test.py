#!/usr/bin/env python3
"""CPU checks of the training script before a GPU run (small frames so that it takes a minute):
the batched vision attention equals transformers' per-segment loop, the training forward equals the model's own
forward, and two steps, a checkpoint, a resume and the written folder's reload all work.

    python3 models/qwen2_5_vl/train/smoke_test.py
"""

import os
import random
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import synth  # noqa: E402
import train  # noqa: E402

synth.MIN_PIXELS = 112 * 112
synth.SOURCE_SIZES = ((112, 84),)
dev = torch.device("cpu")
work = tempfile.mkdtemp()
torch.manual_seed(0)
model = train.build_model(torch, work).eval()
with torch.no_grad():
    for p in model.parameters():  # larger weights than the init, so that no term is negligible
        p.add_(0.05 * torch.randn_like(p))
prompter = train.Prompter()
spec = synth.make_spec(random.Random(3), "colour", 8)
batch = train.tensors(torch, [spec], prompter, dev, torch.Generator().manual_seed(0), follow_ups=True)
with torch.no_grad():
    ref = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                pixel_values_videos=batch["pixel_values_videos"], video_grid_thw=batch["video_grid_thw"],
                use_cache=False).logits[:, :-1][batch["labels"][:, 1:] != -100]
    train.batched_vision_attention(torch)
    ours, _, _ = train.answer_logits(model, batch)
diff = float((ref - ours).abs().max())
print(f"training forward vs the model's forward (per-segment vision attention): max |Δ| {diff:.2e}")
assert diff < 1e-4, diff

sys.argv = ["train.py", "--work", work, "--device", "cpu", "--steps", "2", "--tokens-per-step", "200",
            "--eval-per-cell", "1", "--eval-lengths", "8", "--max-frames", "32"]
train.main()
sys.argv[sys.argv.index("--steps") + 1] = "3"
train.main()  # resumes at step 2
print("ok:", os.listdir(os.path.join(work, "model")))
