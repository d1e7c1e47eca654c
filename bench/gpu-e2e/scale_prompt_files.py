"""Prompt files for the 7B-shaped random model, so that `mmi ask` reads its folder like a downloaded checkpoint.

models/qwen2_5_vl/fixtures/scale/make_model.py writes config.json and the weights only. This adds tiny-a's tokenizer
(its byte-level vocabulary unchanged, its special tokens moved to the ids the released config names: <|endoftext|>
at bos_token_id, the others after it in Qwen's order), tiny-a's tokenizer_config.json with the same ids, and its
preprocessor_config.json. With random weights the answers are noise either way; the run measures the engine.

    python3 bench/gpu-e2e/scale_prompt_files.py MODEL_DIR
"""

import json
import os
import sys

TINY = os.path.join(os.path.dirname(__file__), "..", "..", "models", "qwen2_5_vl", "fixtures", "tiny-a", "model")


def main():
    out = sys.argv[1]
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(TINY, "tokenizer.json")) as f:
        tokenizer = json.load(f)
    with open(os.path.join(TINY, "tokenizer_config.json")) as f:
        tokenizer_config = json.load(f)
    first = next(t["id"] for t in tokenizer["added_tokens"] if t["content"] == "<|endoftext|>")
    shift = config["bos_token_id"] - first
    ids = {}
    for t in tokenizer["added_tokens"]:
        t["id"] += shift
        ids[t["content"]] = t["id"]
    tokenizer_config["added_tokens_decoder"] = {
        str(int(k) + shift): v for k, v in tokenizer_config["added_tokens_decoder"].items()
    }
    for key, name in [("video_token_id", "<|video_pad|>"), ("vision_start_token_id", "<|vision_start|>"),
                      ("vision_end_token_id", "<|vision_end|>"), ("eos_token_id", "<|im_end|>")]:
        if config[key] != ids[name]:
            sys.exit(f"{key} is {config[key]} but {name} lands at {ids[name]}")
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config, f)
    with open(os.path.join(TINY, "preprocessor_config.json")) as f, \
            open(os.path.join(out, "preprocessor_config.json"), "w") as g:
        g.write(f.read())
    print(json.dumps({"prompt_files": out, "special_token_shift": shift}))


if __name__ == "__main__":
    main()
