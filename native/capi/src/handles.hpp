// The C API's handles over the model runtime (any family) that more than one of its files reads: a model (with the folder its
// pattern files are checked against, and the lock that serialises the work on it), a video's features, a pattern
// file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "mmi.h"
#include "mmi/patterns/pattern_file.hpp"
#include "mmi/runtime/video_model.hpp"

struct mmi_model {
  std::unique_ptr<mmi::runtime::VideoModel> model;  // of the family config.json names (families.hpp)
  std::filesystem::path dir;  // for the identity pattern files are checked against
  std::mutex mu;
  int32_t threads = 0;
  std::vector<const char*> dtypes, files;  // into model->info()
  mmi::runtime::TextShape text;
  mmi::runtime::VideoShape video;  // mmi_model_info's eos_token_ids point into it
};

struct mmi_video {
  std::vector<float> features;
  mmi::runtime::GridTHW grid;
  int64_t tokens = 0;
  int64_t hidden = 0;
};

struct mmi_pattern_file {
  std::shared_ptr<const mmi::patterns::PatternFile> file;
};
