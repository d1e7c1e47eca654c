// Reading JS arguments into the C API's structs, with errors that name the argument. Typed arrays are read in
// place (no copy): the caller keeps them alive for the job through start_job's `keep`.
#pragma once

#include <napi.h>
#include <string>
#include <vector>

#include "mmi.h"

namespace mmi::addon {

Napi::Object object_arg(Napi::Value v, const std::string& name);
// An integer Number in [lo, hi]; `fallback` when undefined (if `optional`).
int64_t int_arg(Napi::Value v, const std::string& name, int64_t lo, int64_t hi);
int64_t int_field(Napi::Object o, const char* field, const std::string& name, int64_t lo, int64_t hi, int64_t fallback);
double number_field(Napi::Object o, const char* field, const std::string& name, double fallback);
bool bool_field(Napi::Object o, const char* field, const std::string& name, bool fallback);

// { data: Float32Array (f32) | Uint16Array (f16, bf16 raw bits), dtype, heads, tokens, dim }; data is appended to
// `keep`.
mmi_tensor tensor_arg(Napi::Value v, const std::string& name, std::vector<Napi::Value>& keep);
// [{ kind: 'text', tokens } | { kind: 'video', t, h, w }]
std::vector<mmi_segment> segments_arg(Napi::Value v, const std::string& name);
Napi::Array segments_value(Napi::Env env, const mmi_segment* segments, int64_t count);
// { kind, sinkTokens?, localTokens?, verticalSlash?: { vertical, slash }, topKBlocks?, gridLines?, textRows?, ... }
mmi_pattern pattern_arg(Napi::Value v, const std::string& name);
Napi::Object pattern_value(Napi::Env env, const mmi_pattern& p);
// { start, length, stride, prior, score, phases }
Napi::Object grid_choice_value(Napi::Env env, const mmi_grid_choice& g);
// "dense", "a_shape", ... for an mmi_pattern_kind ("unknown" out of range).
const char* pattern_kind_name(int32_t kind);
// A Float32Array of exactly `length` elements given by the caller (held in `keep`), or a new one.
Napi::Float32Array output_arg(Napi::Env env, Napi::Value v, int64_t length, std::vector<Napi::Value>& keep);
// The `threads` field of an options object (0: all cores).
int32_t threads_field(Napi::Object options);
// The `device` field of an options object: 'auto' (or absent), 'cpu' or 'gpu', as an mmi_device.
int32_t device_field(Napi::Object options);
// "cpu" or "gpu" for an mmi_device the engine resolved.
const char* device_name(int32_t device);

}  // namespace mmi::addon
