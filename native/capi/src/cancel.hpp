// The cancel token behind mmi_cancel: one atomic flag, shared by the attention core's and the model runtime's runs.
#pragma once

#include <atomic>

#include "mmi.h"

struct mmi_cancel {
  std::atomic<bool> flag{false};
};
