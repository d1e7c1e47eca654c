// The memory plan's arithmetic and its refusal (no GPU needed): the message carries the tokens, the bytes needed item
// by item, the bytes free and how many tokens would fit.
#include "check.hpp"
#include "mmi/runtime/cuda/memory_plan.hpp"
#include "runtime_checks.hpp"

using mmi::runtime::ErrorCode;
using mmi::runtime::cuda::MemoryPlan;

TEST(plan_sums_items_and_says_how_many_tokens_fit) {
  MemoryPlan plan("a pre-fill", 1000);
  plan.add("KV cache", 1000 * 100, 100);
  plan.add("hidden state", 1000 * 50, 50);
  plan.add("workspace", 20000);
  plan.add("nothing", 0);
  CHECK(plan.items().size() == 3);
  CHECK(plan.total() == 170000);
  CHECK(plan.tokens_that_fit(170000) == 1000);
  CHECK(plan.tokens_that_fit(20000 + 150 * 400) == 400);
  CHECK(plan.tokens_that_fit(10000) == 0);
  plan.require(170000, 1 << 20, "never thrown");
}

TEST(refusal_names_tokens_bytes_free_and_what_to_change) {
  MemoryPlan plan("a pre-fill", 1048576);
  plan.add("KV cache (bf16, 1049600 tokens)", 57344ull * 1049600, 57344);
  plan.add("hidden state (fp32)", 14336ull * 1048576, 14336);
  plan.add("token-chunk activations", 600ull << 20);
  CHECK_THROWS_ERROR(plan.require(60ull << 30, 80ull << 30, "Ask about a shorter part of the video."),
                     ErrorCode::OutOfMemory, "1048576 tokens");
  try {
    plan.require(60ull << 30, 80ull << 30, "Ask about a shorter part of the video.");
  } catch (const mmi::runtime::Error& e) {
    const std::string m = e.what();
    CHECK(m.find("KV cache") != std::string::npos && m.find("60.00 GiB") != std::string::npos &&
          m.find("80.00 GiB") != std::string::npos && m.find("would fit") != std::string::npos &&
          m.find("shorter part") != std::string::npos)
        << m;
    // Fixed: the activations and the KV rows kept beyond the prompt (1024); per token: KV + hidden state.
    const std::uint64_t fixed = (600ull << 20) + 57344ull * 1024;
    CHECK(m.find("at most " + std::to_string(((60ull << 30) - fixed) / (57344 + 14336)) + " tokens") != std::string::npos)
        << m;
  }
}
