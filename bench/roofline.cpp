// The memory roofline of a pooling kernel: the time to read its input once plus the time to
// write its output once, measured in the same run as the kernels. Reading uses eight
// independent vector accumulators (no dependency chain limits it); writing uses plain vector
// stores, as the kernels do. Both run on Halide's thread pool with the kernels' thread
// count, and are compiled for each ISA with run-time selection (target_clones).
#include "roofline.h"

#include <cstring>

#include "HalideRuntime.h"

namespace poolgen::bench {

namespace {

typedef float v16 __attribute__((vector_size(64)));

__attribute__((target_clones("avx512f", "avx2", "default"))) float read_chunk(const float *p, size_t n) {
    v16 a0 = {}, a1 = {}, a2 = {}, a3 = {}, a4 = {}, a5 = {}, a6 = {}, a7 = {};
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        v16 x[8];
        std::memcpy(x, p + i, sizeof x);
        a0 += x[0];
        a1 += x[1];
        a2 += x[2];
        a3 += x[3];
        a4 += x[4];
        a5 += x[5];
        a6 += x[6];
        a7 += x[7];
    }
    v16 s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
    float t = 0;
    for (int l = 0; l < 16; l++) t += s[l];
    for (; i < n; i++) t += p[i];
    return t;
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void write_chunk(float *p, size_t n, float value) {
    v16 v;
    for (int l = 0; l < 16; l++) v[l] = value;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        std::memcpy(p + i, &v, sizeof v);
        std::memcpy(p + i + 16, &v, sizeof v);
        std::memcpy(p + i + 32, &v, sizeof v);
        std::memcpy(p + i + 48, &v, sizeof v);
    }
    for (; i < n; i++) p[i] = value;
}

struct Job {
    const float *src;
    float *dst;
    size_t n, chunk;
    float value;
    float sums[256];
};

int read_task(void *, int t, uint8_t *closure) {
    Job *j = reinterpret_cast<Job *>(closure);
    const size_t a = t * j->chunk, b = std::min(j->n, a + j->chunk);
    j->sums[t % 256] = a < b ? read_chunk(j->src + a, b - a) : 0.0f;
    return 0;
}

int write_task(void *, int t, uint8_t *closure) {
    Job *j = reinterpret_cast<Job *>(closure);
    const size_t a = t * j->chunk, b = std::min(j->n, a + j->chunk);
    if (a < b) write_chunk(j->dst + a, b - a, j->value);
    return 0;
}

// Tasks of whole cache lines; one per thread (the streams are uniform).
int tasks_for(size_t n, int threads, size_t *chunk) {
    const int t = std::max(1, std::min(threads, 256));
    *chunk = ((n + t - 1) / t + 15) / 16 * 16;
    return static_cast<int>((n + *chunk - 1) / std::max<size_t>(*chunk, 1));
}

}  // namespace

float read_once(const float *p, size_t n, int threads) {
    Job j{};
    j.src = p;
    j.n = n;
    const int t = tasks_for(n, threads, &j.chunk);
    if (t <= 1) return read_chunk(p, n);
    halide_do_par_for(nullptr, read_task, 0, t, reinterpret_cast<uint8_t *>(&j));
    float s = 0;
    for (int i = 0; i < std::min(t, 256); i++) s += j.sums[i];
    return s;
}

void write_once(float *p, size_t n, float value, int threads) {
    Job j{};
    j.dst = p;
    j.n = n;
    j.value = value;
    const int t = tasks_for(n, threads, &j.chunk);
    if (t <= 1) return write_chunk(p, n, value);
    halide_do_par_for(nullptr, write_task, 0, t, reinterpret_cast<uint8_t *>(&j));
}

}  // namespace poolgen::bench
