// `poolgen import`: an ONNX model's pooling nodes into a manifest (docs/onnx.md).
#pragma once
#include <string>
#include <vector>

namespace poolgen::cli {

struct ImportOptions {
    std::string model, output;
    std::vector<std::string> passthrough;  // the reader's own options (--batch, --input, ...)
    std::string python;                    // empty: POOLGEN_PYTHON, then the configured Python
};

// Runs the ONNX reader (onnx_import.py), validates what it prints with poolgen's manifest reader
// and writes it atomically. Returns the exit status; nothing is written on any failure.
int import_onnx(const ImportOptions &opt);

}  // namespace poolgen::cli
