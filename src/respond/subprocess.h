// Runs a program from an argument vector with fork/exec: never a shell, so no argument is ever
// parsed as shell syntax, whatever bytes it holds.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "core/time.h"

namespace vigil::respond {

inline constexpr size_t kMaxProcessOutput = 64 * 1024;  // bytes kept of stdout / stderr each

struct ProcessResult {
  int exit_code = -1;  // the exit status, or 128 + signal when killed
  std::string out;     // first kMaxProcessOutput bytes of stdout
  std::string err;     // first kMaxProcessOutput bytes of stderr
  bool timed_out = false;
};

// Runs argv[0] (looked up in PATH) with argv, writes `input` to its stdin and closes it,
// collects stdout and stderr, and kills it (SIGKILL) after `timeout`. Returns an error only
// when the process could not be started; a non-zero exit is reported in the result.
// Thread-safe (uses no global state other than fork).
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, const std::string& input,
                                 Micros timeout);

}  // namespace vigil::respond
