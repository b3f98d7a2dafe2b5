// Read and write loops at the memory system's speed: the roofline the kernels are held to.
#pragma once
#include <algorithm>
#include <cstddef>

namespace poolgen::bench {

// Reads n floats once (their sum, so the loads stay), on `threads` threads.
float read_once(const float *p, size_t n, int threads);
// Writes `value` to n floats once, on `threads` threads.
void write_once(float *p, size_t n, float value, int threads);

}  // namespace poolgen::bench
