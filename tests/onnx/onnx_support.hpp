// What the ONNX tests share: running a model in ONNX Runtime (tests/onnx/ort_run.js under
// node, with onnxruntime-node from the build folder's onnxruntime/ or $KILN_ORT_DIR), ONNX's
// own checker (python3-onnx), and comparing outputs.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "kiln/io/npy.hpp"
#include "kiln/tensor.hpp"
#include "support/process.hpp"

namespace kiln::testing {

inline std::filesystem::path ort_dir() {
  const char* env = std::getenv("KILN_ORT_DIR");
  return env && *env ? std::filesystem::path(env) : std::filesystem::path(KILN_ORT_DIR);
}

// Why ONNX Runtime cannot run here ("" when it can): the reason a test skips with.
inline std::string ort_unavailable() {
  if (run_command("command -v node >/dev/null 2>&1").exit_code != 0) return "node is not installed";
  if (!std::filesystem::exists(ort_dir() / "node_modules" / "onnxruntime-node" / "package.json")) {
    return "onnxruntime-node is not installed in " + ort_dir().string() + " (scripts/setup.sh installs it)";
  }
  return "";
}

// The model's outputs for `inputs`, computed by ONNX Runtime.
inline std::vector<Tensor> run_in_ort(const std::filesystem::path& model, const std::vector<Tensor>& inputs,
                                      const std::filesystem::path& work) {
  std::string command = "NODE_PATH='" + (ort_dir() / "node_modules").string() +
                        "' node '" KILN_ONNX_TEST_DIR "/ort_run.js' '" + model.string() + "' '" + work.string() + "'";
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto path = work / ("input_" + std::to_string(i) + ".npy");
    io::write_npy(inputs[i], path);
    command += " '" + path.string() + "'";
  }
  const ProcessResult r = run_command(command + " 2>&1");
  if (r.exit_code != 0) throw std::runtime_error("ONNX Runtime failed: " + r.output);
  std::vector<Tensor> outputs;
  for (int i = 0; std::filesystem::exists(work / ("output_" + std::to_string(i) + ".npy")); ++i) {
    outputs.push_back(io::read_npy(work / ("output_" + std::to_string(i) + ".npy")));
  }
  return outputs;
}

// Many models in one ONNX Runtime process (node and onnxruntime-node load once, which costs
// most of a run): job i's outputs, or its error as the message of a std::runtime_error when
// that job failed.
struct OrtJob {
  std::filesystem::path model;
  std::vector<Tensor> inputs;
};

struct OrtResult {
  std::vector<Tensor> outputs;
  std::string error;  // "" when the model ran
};

inline std::vector<OrtResult> run_in_ort_batch(const std::vector<OrtJob>& jobs, const std::filesystem::path& work) {
  std::string manifest;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const auto dir = work / ("ort_job_" + std::to_string(j));
    std::filesystem::create_directories(dir);
    manifest += jobs[j].model.string() + "\t" + dir.string();
    for (std::size_t i = 0; i < jobs[j].inputs.size(); ++i) {
      const auto path = dir / ("input_" + std::to_string(i) + ".npy");
      io::write_npy(jobs[j].inputs[i], path);
      manifest += "\t" + path.string();
    }
    manifest += "\n";
  }
  const auto list = work / "ort_jobs.txt";
  {
    std::ofstream out(list);
    out << manifest;
  }
  const ProcessResult r =
      run_command("NODE_PATH='" + (ort_dir() / "node_modules").string() +
                  "' node '" KILN_ONNX_TEST_DIR "/ort_run.js' --batch '" + list.string() + "' 2>&1");
  if (r.exit_code != 0) throw std::runtime_error("ONNX Runtime failed: " + r.output);
  std::vector<OrtResult> results(jobs.size());
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const auto dir = work / ("ort_job_" + std::to_string(j));
    if (std::filesystem::exists(dir / "error.txt")) {
      std::ifstream in(dir / "error.txt");
      results[j].error.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      if (results[j].error.empty()) results[j].error = "failed";
      continue;
    }
    for (int i = 0; std::filesystem::exists(dir / ("output_" + std::to_string(i) + ".npy")); ++i) {
      results[j].outputs.push_back(io::read_npy(dir / ("output_" + std::to_string(i) + ".npy")));
    }
  }
  return results;
}

// What ONNX's own tools say about a file: onnx.checker.check_model(full_check=True)'s complaint
// ("" when it passes) and how many nodes of each operator it has. `skipped` says why not, when
// python3-onnx is missing.
struct OnnxCheck {
  std::string skipped, error;
  std::map<std::string, int> ops;
};

inline OnnxCheck onnx_check(const std::filesystem::path& model) {
  OnnxCheck c;
  if (run_command("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1").exit_code != 0) {
    c.skipped = "python3-onnx is missing";
    return c;
  }
  const ProcessResult r = run_command(
      "/usr/bin/python3 -c 'import collections, onnx, sys\n"
      "m = onnx.load(sys.argv[1])\n"
      "for op, n in collections.Counter(n.op_type for n in m.graph.node).items(): print(\"op\", op, n)\n"
      "onnx.checker.check_model(m, full_check=True)' '" +
      model.string() + "' 2>&1");
  std::istringstream lines(r.output);
  std::string line, rest;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string tag, op;
    int n = 0;
    if (words >> tag >> op >> n && tag == "op") {
      c.ops[op] = n;
    } else {
      rest += line + "\n";
    }
  }
  if (r.exit_code != 0) c.error = rest.empty() ? "onnx.checker failed" : rest;
  return c;
}

// onnx_check for many files in one python3 process (importing onnx costs most of a check).
inline std::vector<OnnxCheck> onnx_check_all(const std::vector<std::filesystem::path>& models) {
  std::vector<OnnxCheck> checks(models.size());
  if (run_command("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1").exit_code != 0) {
    for (auto& c : checks) c.skipped = "python3-onnx is missing";
    return checks;
  }
  std::string command =
      "/usr/bin/python3 -c 'import collections, onnx, sys\n"
      "for i, f in enumerate(sys.argv[1:]):\n"
      "  print(\"model\", i, 0)\n"
      "  m = onnx.load(f)\n"
      "  for op, n in collections.Counter(n.op_type for n in m.graph.node).items(): print(\"op\", op, n)\n"
      "  try: onnx.checker.check_model(m, full_check=True)\n"
      "  except Exception as e: print(\"error\", str(e).replace(chr(10), \" \"))'";
  for (const auto& m : models) command += " '" + m.string() + "'";
  const ProcessResult r = run_command(command + " 2>&1");
  std::istringstream lines(r.output);
  std::string line;
  OnnxCheck* current = nullptr;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string tag, op;
    words >> tag;
    if (tag == "model") {
      std::size_t i = 0;
      words >> i;
      current = i < checks.size() ? &checks[i] : nullptr;
    } else if (tag == "op" && current) {
      int n = 0;
      words >> op >> n;
      current->ops[op] = n;
    } else if (tag == "error" && current) {
      current->error = line.substr(6);
    } else if (current) {
      current->error += line + "\n";  // a traceback: the file did not load
    }
  }
  if (r.exit_code != 0) {
    for (auto& c : checks) {
      if (c.error.empty()) c.error = "python3 failed: " + r.output;
    }
  }
  return checks;
}

// Largest |a - b| / max(1, |b|) over all elements; shapes must agree.
inline double max_relative_difference(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  if (a.shape() != b.shape()) return INFINITY;
  const auto x = a.to(DType::Float64).to_vector<double>(), y = b.to(DType::Float64).to_vector<double>();
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    worst = std::max(worst, std::abs(x[i] - y[i]) / std::max(1.0, std::abs(y[i])));
  return worst;
}

}  // namespace kiln::testing
