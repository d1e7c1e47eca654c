"""Synthetic videos for the demo model: scenes, needles, questions and answers checkable by program.

A video is a static background scene (plain, gradient, stripes or checkerboard in muted colours) with short
"needles": saturated shapes (square, circle, triangle) shown for a few sampled frames. Each spec renders two ways
that should give the model the same pixels:

  * `render` (torch, on the GPU while training): the frames at the source size, a yuv420p round trip and a little
    coding noise (what an H.264 file of that source gives back), then the app's bicubic resize to the size Qwen2.5-VL's
    smart_resize picks, exactly as the app's decode (ffmpeg `scale=W:H:flags=bicubic,format=rgb24`);
  * `lavfi` : an ffmpeg filter graph that draws the same scene into a real video file, for the accuracy tests and the
    V-NIAH bench.

Times in a spec are in sampled frames (2 per second at the app's default rate): a needle at frames [s, s + d) of the
sampled video is drawn from s / fps to (s + d) / fps seconds of the file.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

# Sampling defaults of the app (app/domain/sampling.ts, qwen-vl-utils): 2 fps, per-frame budgets.
FPS = 2.0
MIN_PIXELS = 128 * 28 * 28
MAX_PIXELS = 768 * 28 * 28
TOTAL_PIXELS = 128000 * 28 * 28 * 0.9
MAX_FRAMES = 768

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

COLOURS = {
    "red": (230, 30, 30),
    "green": (30, 190, 50),
    "blue": (35, 60, 235),
    "yellow": (240, 220, 25),
    "white": (245, 245, 245),
}
SHAPES = ("square", "circle", "triangle")
SCENES = ("plain", "gradient", "stripes", "checkerboard")
SCENE_CAPTIONS = {
    "plain": "a plain background",
    "gradient": "a gradient background",
    "stripes": "a striped background",
    "checkerboard": "a checkerboard background",
}
QUADRANTS = ("top left", "top right", "bottom left", "bottom right")
COUNT_WORDS = {1: "1", 2: "2", 3: "3", 4: "4"}
TASKS = ("colour", "shape", "count", "order", "position", "caption")

QUESTIONS = {
    "colour": ("What colour was the shape that appeared?", "What colour was the shape?"),
    "shape": ("What shape appeared in the video?", "Which shape was shown?"),
    "count": ("How many times did the {colour} {shape} appear?", "How many times was the {colour} {shape} shown?"),
    "order": ("Which came first, the {a} shape or the {b} shape?", "Which appeared first: {a} or {b}?"),
    "position": ("Where on the screen was the shape?", "Where was the shape?"),
    "caption": ("What kind of scene is this?", "Describe the scene."),
}

# Sources the app is typically given, by (width, height); smart_resize maps each to a multiple of 28.
SOURCE_SIZES = ((320, 240), (224, 168), (256, 256), (426, 240))


def round_half_even(x: float) -> int:
    return int(round(x))


def smart_resize(height: int, width: int, min_pixels: float, max_pixels: float, factor: int = 28) -> tuple[int, int]:
    """Qwen2.5-VL's smart_resize, as app/domain/sampling.ts implements it: (height, width)."""
    h = max(factor, round_half_even(height / factor) * factor)
    w = max(factor, round_half_even(width / factor) * factor)
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h = max(factor, math.floor(height / beta / factor) * factor)
        w = max(factor, math.floor(width / beta / factor) * factor)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h = math.ceil(height * beta / factor) * factor
        w = math.ceil(width * beta / factor) * factor
    return h, w


def per_frame_cap(frames: int) -> float:
    cap = max(min(MAX_PIXELS, TOTAL_PIXELS / frames * 2), math.trunc(MIN_PIXELS * 1.05))
    return min(MAX_PIXELS, cap)


def target_size(src_w: int, src_h: int, frames: int) -> tuple[int, int]:
    """The (height, width) the app resizes every sampled frame of this source to."""
    return smart_resize(src_h, src_w, MIN_PIXELS, per_frame_cap(frames))


@dataclass
class Needle:
    start: int  # first sampled frame
    frames: int
    shape: str
    colour: str
    cx: float  # centre, as a fraction of the source width / height
    cy: float
    size: float  # side (square, triangle) or diameter (circle), as a fraction of the source height


@dataclass
class Spec:
    frames: int  # sampled frames (even)
    src_w: int
    src_h: int
    scene: str
    bg0: tuple[int, int, int]
    bg1: tuple[int, int, int]
    period: float  # stripe / check period as a fraction of the source height
    noise: float  # coding noise, in 8-bit levels
    needles: list[Needle] = field(default_factory=list)
    task: str = "colour"
    question: str = ""
    answer: str = ""
    # Other questions the same video answers (training asks them as follow-up turns).
    extra: list[tuple[str, str]] = field(default_factory=list)


def quadrant_of(n: Needle) -> str:
    return QUADRANTS[(2 if n.cy >= 0.5 else 0) + (1 if n.cx >= 0.5 else 0)]


def _muted(rng: random.Random) -> tuple[int, int, int]:
    g = rng.randint(45, 165)
    return tuple(max(0, min(255, g + rng.randint(-22, 22))) for _ in range(3))  # type: ignore[return-value]


def _needle(rng: random.Random, frames: int, start: int, shape: str, colour: str, quadrant: int | None,
            aspect: float) -> Needle:
    size = rng.uniform(0.22, 0.32)
    half_w = size / 2 / aspect  # in fractions of the width
    half_h = size / 2
    q = rng.randrange(4) if quadrant is None else quadrant
    x_lo, x_hi = (0.0, 0.5) if q % 2 == 0 else (0.5, 1.0)
    y_lo, y_hi = (0.0, 0.5) if q < 2 else (0.5, 1.0)
    margin = 0.02
    cx = rng.uniform(x_lo + half_w + margin, x_hi - half_w - margin)
    cy = rng.uniform(y_lo + half_h + margin, y_hi - half_h - margin)
    del frames
    return Needle(start=start, frames=rng.randint(2, 4), shape=shape, colour=colour, cx=cx, cy=cy, size=size)


def _starts(rng: random.Random, frames: int, count: int, span: int = 4, gap: int = 2) -> list[int]:
    """`count` needle starts in [0, frames - span] at least span + gap apart (in time order)."""
    room = frames - span - (count - 1) * (span + gap)
    assert room >= 0, (frames, count)
    offsets = sorted(rng.randint(0, room) for _ in range(count))
    return [o + i * (span + gap) for i, o in enumerate(offsets)]


def min_frames(task: str) -> int:
    return {"count": 4 * 6 + 4, "order": 16}.get(task, 6)


def make_spec(rng: random.Random, task: str, frames: int, src: tuple[int, int] | None = None,
              depth: float | None = None) -> Spec:
    """A random video of `frames` sampled frames for `task`; `depth` (0..1) pins a single needle's time."""
    src_w, src_h = src if src is not None else rng.choice(SOURCE_SIZES)
    aspect = src_w / src_h
    scene = rng.choice(SCENES)
    bg0 = _muted(rng)
    bg1 = _muted(rng)
    while sum(abs(a - b) for a, b in zip(bg0, bg1)) < 60:
        bg1 = _muted(rng)
    spec = Spec(frames=frames, src_w=src_w, src_h=src_h, scene=scene, bg0=bg0, bg1=bg1,
                period=rng.uniform(0.12, 0.3), noise=rng.uniform(0.5, 2.5), task=task)
    colours = list(COLOURS)

    def single_start() -> int:
        if depth is None:
            return rng.randint(0, frames - 4)
        return min(frames - 4, max(0, int(round(depth * (frames - 4)))))

    qi = rng.randrange(2)
    if task in ("colour", "shape", "position", "caption"):
        n_needles = 1 if task != "caption" else rng.randint(0, 1)
        for _ in range(n_needles):
            spec.needles.append(_needle(rng, frames, single_start(), rng.choice(SHAPES), rng.choice(colours), None,
                                        aspect))
        spec.question = QUESTIONS[task][qi]
        if task == "colour":
            spec.answer = spec.needles[0].colour
        elif task == "shape":
            spec.answer = spec.needles[0].shape
        elif task == "position":
            spec.answer = quadrant_of(spec.needles[0])
        else:
            spec.answer = SCENE_CAPTIONS[scene]
    elif task == "count":
        k = rng.randint(1, 4)
        colour, shape = rng.choice(colours), rng.choice(SHAPES)
        for s in _starts(rng, frames, k):
            spec.needles.append(_needle(rng, frames, s, shape, colour, None, aspect))
        spec.question = QUESTIONS[task][qi].format(colour=colour, shape=shape)
        spec.answer = COUNT_WORDS[k]
    elif task == "order":
        a, b = rng.sample(colours, 2)
        s0, s1 = _starts(rng, frames, 2)
        q0, q1 = rng.sample(range(4), 2)
        spec.needles.append(_needle(rng, frames, s0, rng.choice(SHAPES), a, q0, aspect))
        spec.needles.append(_needle(rng, frames, s1, rng.choice(SHAPES), b, q1, aspect))
        named = [a, b] if rng.random() < 0.5 else [b, a]
        spec.question = QUESTIONS[task][qi].format(a=named[0], b=named[1])
        spec.answer = a
    else:
        raise ValueError(task)
    # The follow-up questions come from their own generator, seeded by the video, so that the main one draws the
    # same videos whether or not they are asked.
    xr = random.Random(repr((task, frames, bg0, bg1, spec.question, [n.__dict__ for n in spec.needles])))
    extra = [(QUESTIONS["caption"][xr.randrange(2)], SCENE_CAPTIONS[scene])]
    if len(spec.needles) == 1:
        n = spec.needles[0]
        extra += [(QUESTIONS["colour"][xr.randrange(2)], n.colour), (QUESTIONS["shape"][xr.randrange(2)], n.shape),
                  (QUESTIONS["position"][xr.randrange(2)], quadrant_of(n))]
    xr.shuffle(extra)
    spec.extra = [qa for qa in extra if qa[0] != spec.question]
    return spec


def token_labels(spec: Spec, torch, device, height: int, width: int):
    """Per merged video token (2 frames x 28 x 28 pixels, in the vision tower's output order t, h, w): the needle's
    colour and shape (1-based; 0 where no needle covers a quarter of it) and the scene, for the auxiliary loss."""
    import torch.nn.functional as F

    t = spec.frames // 2
    colour = torch.zeros(t, height // 28, width // 28, dtype=torch.long, device=device)
    shape = torch.zeros_like(colour)
    for n in spec.needles:
        m = needle_mask(n, width, height, torch, device).float()
        cover = F.avg_pool2d(m[None, None], 28)[0, 0]
        for f in range(n.start, n.start + n.frames):
            hit = cover * 0.5 > 0.125  # one of the two frames of the temporal patch
            colour[f // 2][hit] = list(COLOURS).index(n.colour) + 1
            shape[f // 2][hit] = SHAPES.index(n.shape) + 1
    scene = torch.full_like(colour, SCENES.index(spec.scene))
    return torch.stack([colour.flatten(), shape.flatten(), scene.flatten()], dim=1)


# ---------------------------------------------------------------------------------------------------------------
# Rendering (torch)


def _scene(spec: Spec, torch, device):
    h, w = spec.src_h, spec.src_w
    y = torch.arange(h, device=device, dtype=torch.float32)[:, None].expand(h, w) + 0.5
    x = torch.arange(w, device=device, dtype=torch.float32)[None, :].expand(h, w) + 0.5
    c0 = torch.tensor(spec.bg0, device=device, dtype=torch.float32)[:, None, None]
    c1 = torch.tensor(spec.bg1, device=device, dtype=torch.float32)[:, None, None]
    if spec.scene == "plain":
        return c0.expand(3, h, w).clone()
    if spec.scene == "gradient":
        a = (x / w)[None]
        return c0 * (1 - a) + c1 * a
    p = spec.period * h
    if spec.scene == "stripes":
        sel = (torch.floor(x / p) % 2)[None]
    else:
        sel = ((torch.floor(x / p) + torch.floor(y / p)) % 2)[None]
    return torch.where(sel > 0, c1, c0)


def needle_mask(n: Needle, w: int, h: int, torch, device):
    y = torch.arange(h, device=device, dtype=torch.float32)[:, None] + 0.5
    x = torch.arange(w, device=device, dtype=torch.float32)[None, :] + 0.5
    cx, cy, s = n.cx * w, n.cy * h, n.size * h
    if n.shape == "square":
        return ((x - cx).abs() <= s / 2) & ((y - cy).abs() <= s / 2)
    if n.shape == "circle":
        return (x - cx) ** 2 + (y - cy) ** 2 <= (s / 2) ** 2
    top = cy - s / 2
    return (y >= top) & (y <= cy + s / 2) & ((x - cx).abs() <= (y - top) / 2)


def _rgb_to_yuv(x, torch):
    # BT.601 limited range, as swscale converts RGB to yuv420p by default.
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    yy = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    return yy, u, v


def _yuv_to_rgb(yy, u, v, torch):
    c, d, e = yy - 16, u - 128, v - 128
    r = 1.164383 * c + 1.596027 * e
    g = 1.164383 * c - 0.391762 * d - 0.812968 * e
    b = 1.164383 * c + 2.017232 * d
    return torch.stack([r, g, b], dim=1)


def render(spec: Spec, torch, device, generator=None):
    """uint8-valued float frames [frames, 3, H, W] at the app's resize target, as the app decodes the file."""
    import torch.nn.functional as F

    w, h = spec.src_w, spec.src_h
    base = _scene(spec, torch, device)
    frames = base[None].repeat(spec.frames, 1, 1, 1)
    for n in spec.needles:
        m = needle_mask(n, w, h, torch, device)
        col = torch.tensor(COLOURS[n.colour], device=device, dtype=torch.float32)[:, None, None]
        seg = frames[n.start:n.start + n.frames]
        frames[n.start:n.start + n.frames] = torch.where(m[None, None], col[None], seg)
    # The file: yuv420p (chroma averaged over 2x2, 8-bit planes) with coding noise, decoded back to RGB.
    yy, u, v = _rgb_to_yuv(frames, torch)
    noise = torch.randn(yy.shape, device=device, generator=generator) * spec.noise
    yy = torch.round((yy + noise).clamp(16, 235))
    u = torch.round(F.avg_pool2d(u[:, None], 2, ceil_mode=True)).clamp(16, 240)
    v = torch.round(F.avg_pool2d(v[:, None], 2, ceil_mode=True)).clamp(16, 240)
    u = F.interpolate(u, size=(h, w), mode="bilinear", align_corners=False)[:, 0]
    v = F.interpolate(v, size=(h, w), mode="bilinear", align_corners=False)[:, 0]
    rgb = _yuv_to_rgb(yy, u, v, torch)
    th, tw = target_size(w, h, spec.frames)
    if (th, tw) != (h, w):
        rgb = F.interpolate(rgb, size=(th, tw), mode="bicubic", align_corners=False)
    return torch.round(rgb.clamp(0, 255))


def patchify(frames, torch, patch: int = 14, temporal: int = 2, merge: int = 2):
    """Qwen2-VL's rescale / normalise / patch order (merge blocks), as models/qwen2_5_vl/src/preprocess.cpp."""
    mean = torch.tensor(CLIP_MEAN, device=frames.device)[None, :, None, None]
    std = torch.tensor(CLIP_STD, device=frames.device)[None, :, None, None]
    x = (frames / 255.0 - mean) / std
    if x.shape[0] % temporal:
        x = torch.cat([x, x[-1:].expand(temporal - x.shape[0] % temporal, -1, -1, -1)])
    t, c, h, w = x.shape
    gt, gh, gw = t // temporal, h // patch, w // patch
    x = x.reshape(gt, temporal, c, gh // merge, merge, patch, gw // merge, merge, patch)
    x = x.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return x.reshape(gt * gh * gw, c * temporal * patch * patch), (gt, gh, gw)


# ---------------------------------------------------------------------------------------------------------------
# The same scene as a file (ffmpeg lavfi)


def _hex(c: tuple[int, int, int]) -> str:
    return "0x%02X%02X%02X" % c


def sampled_index(frames: int, i: int, file_fps: int) -> int:
    """The file frame the app samples as frame i of `frames` (torch.linspace(0, N - 1, frames).round())."""
    total = int(round(frames / FPS * file_fps))
    return round_half_even(i * (total - 1) / (frames - 1))


def lavfi(spec: Spec, file_fps: int = 10) -> str:
    """An ffmpeg filter graph (for `-f lavfi -i GRAPH`) drawing this spec at `file_fps`: the app samples it back at
    FPS. The scene is drawn by geq in planar RGB, every needle by geq enabled over the file frames from the first to
    the last sampled frame it covers."""
    w, h = spec.src_w, spec.src_h
    dur = spec.frames / FPS
    r0, g0, b0 = spec.bg0
    r1, g1, b1 = spec.bg1
    p = spec.period * h
    if spec.scene == "plain":
        sel = "0"
    elif spec.scene == "gradient":
        sel = "((X+0.5)/W)"
    elif spec.scene == "stripes":
        sel = f"mod(floor((X+0.5)/{p:.4f}),2)"
    else:
        sel = f"mod(floor((X+0.5)/{p:.4f})+floor((Y+0.5)/{p:.4f}),2)"

    def chan(a: int, b: int) -> str:
        return f"{a}+({b}-{a})*{sel}"

    graph = [f"color=c=black:s={w}x{h}:r={file_fps}:d={dur:g}", "format=gbrp",
             f"geq=r='{chan(r0, r1)}':g='{chan(g0, g1)}':b='{chan(b0, b1)}'"]
    for n in spec.needles:
        cx, cy, s = n.cx * w, n.cy * h, n.size * h
        if n.shape == "square":
            inside = f"lte(abs(X+0.5-{cx:.3f}),{s / 2:.3f})*lte(abs(Y+0.5-{cy:.3f}),{s / 2:.3f})"
        elif n.shape == "circle":
            inside = f"lte(hypot(X+0.5-{cx:.3f},Y+0.5-{cy:.3f}),{s / 2:.3f})"
        else:
            top = cy - s / 2
            inside = (f"gte(Y+0.5,{top:.3f})*lte(Y+0.5,{cy + s / 2:.3f})"
                      f"*lte(abs(X+0.5-{cx:.3f}),(Y+0.5-{top:.3f})/2)")
        r, g, b = COLOURS[n.colour]
        first, last = sampled_index(spec.frames, n.start, file_fps), sampled_index(spec.frames, n.start + n.frames - 1, file_fps)
        graph.append(f"geq=r='if({inside},{r},r(X,Y))':g='if({inside},{g},g(X,Y))':b='if({inside},{b},b(X,Y))'"
                     f":enable='between(n,{first},{last})'")
    return ",".join(graph)


def ffmpeg_command(spec: Spec, out: str, file_fps: int = 10) -> list[str]:
    return ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", lavfi(spec, file_fps),
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-crf", "18", out]
