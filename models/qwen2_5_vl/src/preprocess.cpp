#include "mmi/qwen2_5_vl/preprocess.hpp"

#include <algorithm>
#include <cmath>

#include "mmi/runtime/config.hpp"
#include "mmi/runtime/errors.hpp"

namespace mmi::qwen2_5_vl {

using runtime::Error;
using runtime::ErrorCode;

PreprocessorConfig read_preprocessor_config(const std::string& path) {
  return parse_preprocessor_config(runtime::read_json_file(path), path);
}

PreprocessorConfig parse_preprocessor_config(const runtime::Json& root, const std::string& path) {
  if (!root.is_object()) throw Error(ErrorCode::ConfigInvalid, path, "", "not a JSON object");
  const runtime::ConfigView c(root, path);
  PreprocessorConfig p;
  auto read3 = [&](const char* key, std::array<float, 3>& out) {
    const runtime::Json* v = root.find(key);
    if (v == nullptr || v->is_null()) return;
    const auto* arr = v->as_array();
    if (arr == nullptr || arr->size() != 3) throw Error(ErrorCode::ConfigInvalid, path, key, "expected three numbers");
    for (std::size_t i = 0; i < 3; ++i) {
      const auto* n = (*arr)[i].as_number();
      // Bounded before the narrowing to float, which is undefined for values outside its range.
      if (n == nullptr || !(std::fabs(n->value) <= 1e6)) {
        throw Error(ErrorCode::ConfigInvalid, path, key, "expected three numbers in [-1e6, 1e6]");
      }
      out[i] = static_cast<float>(n->value);
    }
  };
  read3("image_mean", p.mean);
  read3("image_std", p.std);
  for (float s : p.std) {
    if (!(s > 0.0f)) throw Error(ErrorCode::ConfigInvalid, path, "image_std", "must be positive");
  }
  p.patch = c.opt_int("patch_size").value_or(p.patch);
  p.temporal_patch = c.opt_int("temporal_patch_size").value_or(p.temporal_patch);
  p.merge = c.opt_int("merge_size").value_or(p.merge);
  p.min_pixels = c.opt_int("min_pixels").value_or(p.min_pixels);
  p.max_pixels = c.opt_int("max_pixels").value_or(p.max_pixels);
  if (p.patch <= 0 || p.temporal_patch <= 0 || p.merge <= 0) {
    throw Error(ErrorCode::ConfigInvalid, path, "patch_size", "patch sizes must be positive");
  }
  if (p.min_pixels <= 0 || p.min_pixels > p.max_pixels || p.max_pixels > (std::int64_t{1} << 40)) {
    throw Error(ErrorCode::ConfigInvalid, path, "max_pixels", "need 0 < min_pixels <= max_pixels <= 2^40");
  }
  return p;
}

PixelValues patchify(const std::uint8_t* rgb, std::int64_t frames, std::int64_t height, std::int64_t width,
                     const PreprocessorConfig& c) {
  const std::int64_t factor = c.patch * c.merge;
  if (frames <= 0 || height <= 0 || width <= 0 || height % factor != 0 || width % factor != 0) {
    throw Error(ErrorCode::InvalidInput, "", "frames",
                "need at least one frame with sides multiples of " + std::to_string(factor) + ", got " +
                    std::to_string(frames) + " x " + std::to_string(height) + " x " + std::to_string(width));
  }
  PixelValues out;
  out.grid = GridTHW{(frames + c.temporal_patch - 1) / c.temporal_patch, height / c.patch, width / c.patch};
  const std::int64_t P = c.patch, T = c.temporal_patch, M = c.merge;
  const std::int64_t row_len = 3 * T * P * P;
  out.data.resize(static_cast<std::size_t>(out.grid.patches() * row_len));
  // Normalisation as (x/255 - mean) / std with the division folded into one scale per channel.
  std::array<float, 3> scale{}, shift{};
  for (int ch = 0; ch < 3; ++ch) {
    scale[ch] = 1.0f / (255.0f * c.std[ch]);
    shift[ch] = -c.mean[ch] / c.std[ch];
  }
  float* dst = out.data.data();
  const std::int64_t cells_h = out.grid.h / M, cells_w = out.grid.w / M;
  for (std::int64_t gt = 0; gt < out.grid.t; ++gt) {
    for (std::int64_t ch_cell = 0; ch_cell < cells_h; ++ch_cell) {
      for (std::int64_t cw_cell = 0; cw_cell < cells_w; ++cw_cell) {
        for (std::int64_t mh = 0; mh < M; ++mh) {
          for (std::int64_t mw = 0; mw < M; ++mw) {
            const std::int64_t y0 = (ch_cell * M + mh) * P;
            const std::int64_t x0 = (cw_cell * M + mw) * P;
            for (std::int64_t ch = 0; ch < 3; ++ch) {
              for (std::int64_t tt = 0; tt < T; ++tt) {
                // An odd frame count repeats the last frame.
                const std::int64_t f = std::min(gt * T + tt, frames - 1);
                const std::uint8_t* frame = rgb + f * height * width * 3;
                for (std::int64_t py = 0; py < P; ++py) {
                  const std::uint8_t* src = frame + ((y0 + py) * width + x0) * 3 + ch;
                  for (std::int64_t px = 0; px < P; ++px) {
                    *dst++ = static_cast<float>(src[px * 3]) * scale[static_cast<std::size_t>(ch)] +
                             shift[static_cast<std::size_t>(ch)];
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  return out;
}

}  // namespace mmi::qwen2_5_vl
