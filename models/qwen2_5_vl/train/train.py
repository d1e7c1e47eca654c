#!/usr/bin/env python3
"""Trains the demo model: a small Qwen2.5-VL (transformers' own classes) on synthetic videos made on the fly.

    python3 models/qwen2_5_vl/train/train.py --work DIR [--steps N | --budget-seconds S] [--seed 0]

Deterministic from its seed: the weights start from `torch.manual_seed(seed)` and step i's batch is drawn from
`Random(seed, i)` (task, length, scene, needles) and a torch generator seeded the same way (coding noise), so a
run stopped at a checkpoint and resumed gives the batches it would have had. `--budget-seconds` stops a call in
time (checkpoint and HF folder written); the next call with the same --work resumes. With no --steps, the step
count is fixed once, from the first steps' speed, and kept in the checkpoint.

Writes DIR/ckpt.pt (weights, optimiser, step) and DIR/model/, a Hugging Face folder in the released layout
(config.json, model.safetensors in bf16, the fixtures' tokenizer and chat template, preprocessor_config.json),
plus DIR/model/training.json (settings, steps, losses, held-out accuracy per task and length).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import time

import synth

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "tiny-a", "model")

# Token ids of the fixtures' tokenizer (base vocabulary 330, then Qwen's added tokens in order).
PAD, IM_END, VIDEO_PAD, VISION_START, VISION_END = 330, 332, 343, 339, 340

VISION = dict(depth=4, hidden_size=192, intermediate_size=512, num_heads=3, out_hidden_size=256,
              window_size=112, fullatt_block_indexes=[1, 3], tokens_per_second=2)
TEXT = dict(hidden_size=256, intermediate_size=768, num_hidden_layers=4, num_attention_heads=4,
            num_key_value_heads=2, rope_theta=10000.0, mrope_section=[8, 12, 12], rms_norm_eps=1e-6,
            max_position_embeddings=32768)
VOCAB = 352


def log(*a):
    print(*a, flush=True)


def config_dict():
    """config.json in the released checkpoints' flat layout (as tiny-a and the downloaded models)."""
    v, t = VISION, TEXT
    vision = dict(depth=v["depth"], hidden_size=v["hidden_size"], hidden_act="silu",
                  intermediate_size=v["intermediate_size"], num_heads=v["num_heads"], in_chans=3, in_channels=3,
                  out_hidden_size=v["out_hidden_size"], patch_size=14, spatial_merge_size=2, spatial_patch_size=14,
                  temporal_patch_size=2, window_size=v["window_size"],
                  fullatt_block_indexes=v["fullatt_block_indexes"], tokens_per_second=v["tokens_per_second"],
                  model_type="qwen2_5_vl")
    return dict(
        architectures=["Qwen2_5_VLForConditionalGeneration"], model_type="qwen2_5_vl",
        bos_token_id=PAD, eos_token_id=IM_END, pad_token_id=PAD, image_token_id=342, video_token_id=VIDEO_PAD,
        vision_start_token_id=VISION_START, vision_end_token_id=VISION_END, vision_token_id=341,
        torch_dtype="bfloat16", use_cache=True, tie_word_embeddings=False, vision_config=vision,
        vocab_size=VOCAB, hidden_size=t["hidden_size"], intermediate_size=t["intermediate_size"],
        num_hidden_layers=t["num_hidden_layers"], num_attention_heads=t["num_attention_heads"],
        num_key_value_heads=t["num_key_value_heads"], hidden_act="silu",
        max_position_embeddings=t["max_position_embeddings"], rms_norm_eps=t["rms_norm_eps"],
        rope_theta=t["rope_theta"], rope_scaling={"type": "mrope", "mrope_section": t["mrope_section"]},
        use_sliding_window=False, sliding_window=t["max_position_embeddings"],
        max_window_layers=t["num_hidden_layers"], attention_dropout=0.0, initializer_range=0.02,
    )


def build_model(torch, work):
    from transformers import AutoConfig, Qwen2_5_VLForConditionalGeneration

    cdir = os.path.join(work, "config-only")
    os.makedirs(cdir, exist_ok=True)
    with open(os.path.join(cdir, "config.json"), "w") as f:
        json.dump(config_dict(), f, indent=2)
    cfg = AutoConfig.from_pretrained(cdir)
    cfg._attn_implementation = "sdpa"
    model = Qwen2_5_VLForConditionalGeneration(cfg).float()  # fp32 master weights; bf16 only when saved
    model.config._attn_implementation = "sdpa"
    for m in model.modules():
        if hasattr(m, "config"):
            m.config._attn_implementation = "sdpa"
    return model


def batched_vision_attention(torch):
    """The vision attention over all of its segments (windows or frames) in one padded call instead of one call per
    segment: the same attention, each segment attending only to itself."""
    import torch.nn.functional as F
    from transformers.models.qwen2_5_vl import modeling_qwen2_5_vl as m

    def forward(self, hidden_states, cu_seqlens, position_embeddings=None, max_seqlen=None, **kwargs):
        n = hidden_states.shape[0]
        q, k, v = self.qkv(hidden_states).reshape(n, 3, self.num_heads, -1).permute(1, 0, 2, 3).unbind(0)
        cos, sin = position_embeddings
        q, k = m.apply_rotary_pos_emb_vision(q, k, cos, sin)
        cu = cu_seqlens.to(torch.long)
        lengths = cu[1:] - cu[:-1]
        segs = lengths.shape[0]
        longest = int(lengths.max())
        seg = torch.repeat_interleave(torch.arange(segs, device=q.device), lengths)
        pos = torch.arange(n, device=q.device) - cu[seg]

        def pad(x):
            out = x.new_zeros(segs, longest, self.num_heads, x.shape[-1])
            out[seg, pos] = x
            return out.transpose(1, 2)

        keep = (torch.arange(longest, device=q.device)[None, :] < lengths[:, None])[:, None, None, :]
        o = F.scaled_dot_product_attention(pad(q), pad(k), pad(v), attn_mask=keep, scale=self.scaling)
        o = o.transpose(1, 2)[seg, pos].reshape(n, -1)
        return self.proj(o)

    m.Qwen2_5_VLVisionAttention.forward = forward


# ---------------------------------------------------------------------------------------------------------------
# Prompts


class Prompter:
    """The app's prompt: the fixtures' chat template with one video and the question, the video pad expanded."""

    def __init__(self):
        import jinja2
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(os.path.join(FIXTURE, "tokenizer.json"))
        with open(os.path.join(FIXTURE, "tokenizer_config.json")) as f:
            template = json.load(f)["chat_template"]
        self.template = jinja2.Environment(trim_blocks=True, lstrip_blocks=True).from_string(template)
        self.cache = {}

    def ids(self, question: str):
        if question not in self.cache:
            msgs = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": question}]}]
            text = self.template.render(messages=msgs, add_generation_prompt=True)
            ids = self.tok.encode(text, add_special_tokens=False).ids
            assert ids.count(VIDEO_PAD) == 1
            self.cache[question] = ids
        return self.cache[question]

    def answer(self, text: str):
        return self.tok.encode(text, add_special_tokens=False).ids + [IM_END]

    def follow_up(self, question: str):
        """A later user turn and the assistant's opening, after an answer's <|im_end|> (as the chat template puts
        them)."""
        key = ("follow-up", question)
        if key not in self.cache:
            text = f"\n<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"
            self.cache[key] = self.tok.encode(text, add_special_tokens=False).ids
        return self.cache[key]

    def decode(self, ids):
        return self.tok.decode([i for i in ids if i != IM_END])


def positions(torch, prefix: int, grid, total: int, second_per_grid: float = 1.0, tps: int = 2):
    """M-RoPE ids by the original rule (models/qwen2_5_vl/README.md): text 0..prefix-1, then the video at offset
    prefix (temporal floor(t·secondPerGrid·tps)), then text from the largest position + 1."""
    gt, gh, gw = grid
    H, W = gh // 2, gw // 2
    pos = torch.zeros(3, total, dtype=torch.long)
    pos[:, :prefix] = torch.arange(prefix)
    t = torch.arange(gt).repeat_interleave(H * W)
    tt = torch.floor(t.double() * second_per_grid * tps).long()
    h = torch.arange(H).repeat_interleave(W).repeat(gt)
    w = torch.arange(W).repeat(gt * H)
    n = gt * H * W
    pos[0, prefix:prefix + n] = prefix + tt
    pos[1, prefix:prefix + n] = prefix + h
    pos[2, prefix:prefix + n] = prefix + w
    nxt = int(pos[:, :prefix + n].max()) + 1
    rest = total - prefix - n
    pos[:, prefix + n:] = nxt + torch.arange(rest)
    return pos


# ---------------------------------------------------------------------------------------------------------------
# Batches


def curriculum_max_frames(progress: float, longest: int) -> int:
    """Longest video (sampled frames) at this point of training: 32 frames (~2K tokens) at the start, `longest`
    (480 frames: 240 temporal patches, ~33K tokens at 392x280) from 70% on."""
    return int(32 + (longest - 32) * min(1.0, progress / 0.7))


def draw_batch(rng: random.Random, progress: float, tokens_per_step: int, longest: int, tasks=synth.TASKS,
               shortest: int = 16):
    hi = max(shortest, curriculum_max_frames(progress, longest))
    frames = int(math.exp(rng.uniform(math.log(shortest), math.log(hi))))
    frames = max(shortest, frames - frames % 2)
    src = rng.choice(synth.SOURCE_SIZES)
    th, tw = synth.target_size(*src, frames)
    tokens = frames // 2 * (th // 28) * (tw // 28)
    count = max(1, tokens_per_step // tokens)
    specs = []
    for _ in range(count):
        task = rng.choice([t for t in tasks if synth.min_frames(t) <= frames])
        specs.append(synth.make_spec(rng, task, frames, src))
    return specs


def tensors(torch, specs, prompter, device, generator, follow_ups: bool = False):
    """input ids, labels, position ids [3, B, L], pixel values, grids and per-token labels for specs of one size.
    With follow_ups, the video's other questions follow the first answer as later turns, each answer labelled."""
    pvs, grids, tok_labels = [], [], []
    for s in specs:
        frames = synth.render(s, torch, device, generator)
        pv, grid = synth.patchify(frames, torch)
        pvs.append(pv)
        grids.append(grid)
        tok_labels.append(synth.token_labels(s, torch, device, frames.shape[2], frames.shape[3]))
    rows, labels, poss = [], [], []
    for s, grid in zip(specs, grids):
        ids = prompter.ids(s.question)
        i = ids.index(VIDEO_PAD)
        n = grid[0] * grid[1] * grid[2] // 4
        ans = prompter.answer(s.answer)
        seq = ids[:i] + [VIDEO_PAD] * n + ids[i + 1:] + ans
        lab = [-100] * (len(seq) - len(ans)) + ans
        for q, a in s.extra if follow_ups else []:
            turn, ans = prompter.follow_up(q), prompter.answer(a)
            seq += turn + ans
            lab += [-100] * len(turn) + ans
        rows.append(seq)
        labels.append(lab)
        poss.append(positions(torch, i, grid, len(seq)))
    L = max(len(r) for r in rows)
    B = len(rows)
    ids_t = torch.full((B, L), PAD, dtype=torch.long)
    lab_t = torch.full((B, L), -100, dtype=torch.long)
    pos_t = torch.zeros(3, B, L, dtype=torch.long)
    for b, (r, lab, p) in enumerate(zip(rows, labels, poss)):
        ids_t[b, :len(r)] = torch.tensor(r)
        lab_t[b, :len(r)] = torch.tensor(lab)
        pos_t[:, b, :len(r)] = p
        pos_t[:, b, len(r):] = p[:, -1:] + 1 + torch.arange(L - len(r))
    return dict(input_ids=ids_t.to(device), labels=lab_t.to(device), position_ids=pos_t.to(device),
                pixel_values_videos=torch.cat(pvs), video_grid_thw=torch.tensor(grids, device=device),
                token_labels=torch.cat(tok_labels))


def answer_logits(model, batch, probe=None):
    """Logits at the positions that predict the answer tokens, their targets, and (with a probe) the auxiliary loss
    on the video tokens: the vision features are asked, token by token, for the needle's colour and shape and the
    scene, which teaches the vision tower what matters long before the answers alone would."""
    inner = model.model
    embeds = inner.get_input_embeddings()(batch["input_ids"])
    video = inner.visual(batch["pixel_values_videos"].type(inner.visual.dtype),
                         grid_thw=batch["video_grid_thw"]).pooler_output
    mask = (batch["input_ids"] == VIDEO_PAD)[..., None].expand_as(embeds)
    embeds = embeds.masked_scatter(mask, video.to(embeds.dtype))
    out = inner.language_model(inputs_embeds=embeds, position_ids=batch["position_ids"], use_cache=False)
    hidden = out.last_hidden_state
    target = batch["labels"][:, 1:]
    sel = target != -100
    logits = model.lm_head(hidden[:, :-1][sel])
    aux = None
    if probe is not None:
        p = probe(video.float())
        lab = batch["token_labels"]
        sizes = (len(synth.COLOURS) + 1, len(synth.SHAPES) + 1, len(synth.SCENES))
        parts = torch_split(p, sizes)
        aux = sum(ce(part, lab[:, i]) for i, part in enumerate(parts)) / len(parts)
    return logits, target[sel], aux


def torch_split(x, sizes):
    return x.split(list(sizes), dim=-1)


def ce(logits, target):
    import torch.nn.functional as F

    return F.cross_entropy(logits.float(), target)


def evaluate(torch, model, prompter, device, seed, lengths, per_cell, tasks=synth.TASKS):
    """Exact-match accuracy per task and length on held-out specs: greedy decoding gives the answer exactly when every
    answer token is the argmax after the tokens before it, so one teacher-forced forward decides it."""
    results = {}
    model.eval()
    with torch.no_grad():
        for task in tasks:
            for frames in lengths:
                if synth.min_frames(task) > frames:
                    continue
                rng = random.Random(f"eval-{seed}-{task}-{frames}")
                gen = torch.Generator(device=device).manual_seed(rng.randrange(2**31))
                right = 0
                for _ in range(per_cell):
                    spec = synth.make_spec(rng, task, frames)
                    batch = tensors(torch, [spec], prompter, device, gen)
                    with autocast(torch, device):
                        logits, target, _ = answer_logits(model, batch)
                    right += int(bool((logits.argmax(-1) == target).all()))
                results[f"{task}@{frames}"] = right / per_cell
    model.train()
    return results


def autocast(torch, device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


# ---------------------------------------------------------------------------------------------------------------
# Output


def released_name(name: str) -> str:
    if name.startswith("model.visual."):
        return "visual." + name[len("model.visual."):]
    if name.startswith("model.language_model."):
        return "model." + name[len("model.language_model."):]
    return name


def write_folder(torch, model, out, report):
    from safetensors.torch import save_file

    os.makedirs(out, exist_ok=True)
    tensors_out = {released_name(k): v.detach().to(torch.bfloat16).cpu().contiguous()
                   for k, v in model.state_dict().items()}
    save_file(tensors_out, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config_dict(), f, indent=2)
        f.write("\n")
    for name in ("tokenizer.json", "tokenizer_config.json", "preprocessor_config.json"):
        shutil.copyfile(os.path.join(FIXTURE, name), os.path.join(out, name))
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": PAD, "eos_token_id": [IM_END, PAD], "pad_token_id": PAD, "do_sample": False}, f,
                  indent=2)
        f.write("\n")
    with open(os.path.join(out, "training.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")


def verify_folder(torch, model, out, prompter, device):
    """Reload the folder with from_pretrained and compare answer logits with the live model (bf16 weights)."""
    from transformers import Qwen2_5_VLForConditionalGeneration

    again = Qwen2_5_VLForConditionalGeneration.from_pretrained(out, torch_dtype=torch.float32,
                                                                attn_implementation="sdpa").to(device)
    ref = build_model(torch, os.path.dirname(out)).to(device)
    ref.load_state_dict({k: v.to(torch.bfloat16).float() for k, v in model.state_dict().items()})
    spec = synth.make_spec(random.Random(7), "colour", 16)
    batch = tensors(torch, [spec], prompter, device, torch.Generator(device=device).manual_seed(7))
    with torch.no_grad():
        a, _, _ = answer_logits(again.eval(), batch)
        b, _, _ = answer_logits(ref.eval(), batch)
    diff = float((a - b).abs().max())
    assert diff < 1e-3, f"reloaded folder differs: {diff}"
    return diff


# ---------------------------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=0, help="total steps (0: fixed from the first steps' speed)")
    ap.add_argument("--budget-seconds", type=float, default=0, help="stop this call after about this long")
    ap.add_argument("--tokens-per-step", type=int, default=32768)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--aux-weight", type=float, default=0.5, help="weight of the per-token auxiliary loss")
    ap.add_argument("--no-follow-ups", dest="follow_ups", action="store_false",
                    help="ask only each video's first question")
    ap.add_argument("--max-frames", type=int, default=480, help="longest training video (sampled frames)")
    ap.add_argument("--min-frames", type=int, default=16, help="shortest training video (sampled frames)")
    ap.add_argument("--init", default="", help="start from this HF folder's weights (e.g. an earlier run's model/)")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    ap.add_argument("--eval-per-cell", type=int, default=20)
    ap.add_argument("--eval-lengths", default="16,64,240")
    ap.add_argument("--reserve-seconds", type=float, default=75, help="budget kept for evaluation and writing")
    ap.add_argument("--ckpt-every", type=int, default=200)
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()

    import torch

    t_start = time.time()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device if args.device != "cuda" or torch.cuda.is_available() else "cpu")
    os.makedirs(args.work, exist_ok=True)
    torch.manual_seed(args.seed)
    torch.backends.cuda.matmul.allow_tf32 = True
    batched_vision_attention(torch)
    model = build_model(torch, args.work).to(device)
    if args.init:
        from safetensors.torch import load_file

        released = load_file(os.path.join(args.init, "model.safetensors"))
        own = {released_name(k): k for k in model.state_dict()}
        missing = model.load_state_dict({own[k]: v.float() for k, v in released.items()}, strict=True)
        log(f"initial weights from {args.init} ({missing})")
    model.train()
    probe = torch.nn.Linear(VISION["out_hidden_size"],
                            len(synth.COLOURS) + 1 + len(synth.SHAPES) + 1 + len(synth.SCENES)).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params / 1e6:.2f} M parameters, device {device}")
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "embed" not in n] + list(probe.parameters())
    other = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "embed" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": other, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-8)
    prompter = Prompter()
    ckpt_path = os.path.join(args.work, "ckpt.pt")
    state = dict(step=0, total=args.steps, seed=args.seed, losses=[], elapsed=0.0)
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(ck["model"])
        probe.load_state_dict(ck["probe"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
        assert state["seed"] == args.seed, "checkpoint of another seed"
        if args.steps:
            state["total"] = args.steps
        log(f"resumed at step {state['step']} of {state['total']}")

    def save_ckpt():
        tmp = ckpt_path + ".tmp"
        torch.save(dict(model=model.state_dict(), probe=probe.state_dict(), opt=opt.state_dict(), state=state), tmp)
        os.replace(tmp, ckpt_path)

    calib_from, calib_to, t_calib = 10, 40, 0.0  # the first steps warm the kernels up
    window_loss, window_aux, window_n, t_mark = 0.0, 0.0, 0, time.time()
    while state["total"] == 0 or state["step"] < state["total"]:
        step = state["step"]
        if args.budget_seconds and time.time() - t_start > args.budget_seconds:
            log(f"budget reached at step {step}")
            break
        total = state["total"] or 10**9
        progress = step / total if state["total"] else 0.0
        warm = max(50, int(0.04 * total)) if state["total"] else 50
        lr = args.lr * min(1.0, (step + 1) / warm) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))
        for g in opt.param_groups:
            g["lr"] = lr
        rng = random.Random(f"{args.seed}-{step}")
        gen = torch.Generator(device=device).manual_seed(rng.randrange(2**31))
        specs = draw_batch(rng, progress, args.tokens_per_step, args.max_frames, shortest=args.min_frames)
        batch = tensors(torch, specs, prompter, device, gen, follow_ups=args.follow_ups)
        with autocast(torch, device):
            logits, target, aux = answer_logits(model, batch, probe)
        answer_loss = torch.nn.functional.cross_entropy(logits.float(), target)
        loss = answer_loss + args.aux_weight * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state["step"] = step + 1
        window_loss += answer_loss.item()
        window_aux += aux.item()
        window_n += 1
        if state["total"] == 0 and state["step"] == calib_from:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t_calib = time.time()
        if state["total"] == 0 and state["step"] == calib_to:
            if device.type == "cuda":
                torch.cuda.synchronize()
            per_step = (time.time() - t_calib) / (calib_to - calib_from)
            left = (args.budget_seconds or 600) - (time.time() - t_start) - args.reserve_seconds
            # Later steps hold longer videos (attention grows with length): count them 1.1x as long.
            state["total"] = max(calib_to + 1, int(calib_to + left / (per_step * 1.1)))
            log(f"{per_step:.3f} s per step over steps {calib_from}-{calib_to}: {state['total']} steps in all")
        if state["step"] % 25 == 0:
            state["losses"].append([state["step"], window_loss / window_n])
            log(f"step {state['step']}/{state['total']} loss {window_loss / window_n:.4f} "
                f"(aux {window_aux / window_n:.4f}) lr {lr:.2e} "
                f"batch {len(specs)}x{specs[0].frames} frames {time.time() - t_mark:.1f}s")
            window_loss, window_aux, window_n, t_mark = 0.0, 0.0, 0, time.time()
        if state["step"] % args.ckpt_every == 0:
            save_ckpt()
    state["elapsed"] += time.time() - t_start
    save_ckpt()
    import transformers

    report = dict(seed=args.seed, steps_done=state["step"], steps_total=state["total"],
                  tokens_per_step=args.tokens_per_step, lr=args.lr, aux_weight=args.aux_weight,
                  follow_ups=args.follow_ups, min_frames=args.min_frames, max_frames=args.max_frames,
                  parameters=n_params, vision=VISION, text=TEXT,
                  losses=state["losses"], train_seconds=round(state["elapsed"], 1), torch=torch.__version__,
                  transformers=transformers.__version__,
                  device=torch.cuda.get_device_name() if device.type == "cuda" else "cpu")
    out = os.path.join(args.work, "model")
    write_folder(torch, model, out, report)
    diff = verify_folder(torch, model, out, prompter, device)
    log(f"wrote {out} (reload max |Δlogit| {diff:.2e}) in {time.time() - t_start:.0f} s")
    lengths = [int(x) for x in args.eval_lengths.split(",") if x]
    t_eval = time.time()
    acc = evaluate(torch, model, prompter, device, args.seed, lengths, args.eval_per_cell)
    log("held-out exact-match accuracy:", json.dumps(acc))
    report.update(eval_per_cell=args.eval_per_cell, accuracy=acc, eval_seconds=round(time.time() - t_eval, 1))
    with open(os.path.join(out, "training.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")

if __name__ == "__main__":
    sys.path.insert(0, HERE)
    main()
