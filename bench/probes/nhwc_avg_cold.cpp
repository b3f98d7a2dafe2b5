// Why channels-last windowed kernels do not overlap compute with memory on a cold cache: the
// 3x3 stride-1 exclude-pad average of 8x256x28x28 (NHWC) written plainly with AVX-512
// intrinsics (the same loads, adds and divisions per output as the generated kernel), timed
// warm (one buffer set) and cold (sets rotated over >= 128 MB), with software prefetches of the
// input or the output, or non-temporal stores; and the pure streams it is made of.
// Build and run: g++ -O3 -march=x86-64-v4 bench/probes/nhwc_avg_cold.cpp -o /tmp/nhwc_probe && /tmp/nhwc_probe
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {
constexpr int N = 8, C = 256, H = 28, W = 28;
constexpr size_t kElems = size_t(N) * C * H * W;

enum class Extra { None, InputPixelAhead, InputNextRow, OutputAhead, StreamStores };

void avg3x3(const float *in, float *out, Extra extra, int dist) {
    for (int n = 0; n < N; n++)
        for (int y = 0; y < H; y++) {
            const int y0 = std::max(y - 1, 0), y1 = std::min(y + 2, H);
            if (extra == Extra::InputNextRow && y + 2 < H) {
                const char *p = reinterpret_cast<const char *>(in + size_t(n * H + y + 2) * W * C);
                for (int b = 0; b < W * C * 4; b += 64) _mm_prefetch(p + b, _MM_HINT_T0);
            }
            for (int x = 0; x < W; x++) {
                const int x0 = std::max(x - 1, 0), x1 = std::min(x + 2, W);
                if (extra == Extra::InputPixelAhead) {  // the newest input row, `dist` pixels ahead
                    int yy = y + 1, xx = x + 1 + dist;
                    if (xx >= W) yy++, xx -= W;
                    if (yy < H) {
                        const char *p = reinterpret_cast<const char *>(in + (size_t(n * H + yy) * W + xx) * C);
                        for (int b = 0; b < C * 4; b += 64) _mm_prefetch(p + b, _MM_HINT_T0);
                    }
                }
                __m512 acc[16];
                for (auto &a : acc) a = _mm512_setzero_ps();
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++) {
                        const float *p = in + (size_t(n * H + iy) * W + ix) * C;
                        for (int k = 0; k < 16; k++) acc[k] = _mm512_add_ps(acc[k], _mm512_loadu_ps(p + 16 * k));
                    }
                const __m512 d = _mm512_set1_ps(float((y1 - y0) * (x1 - x0)));
                float *o = out + (size_t(n * H + y) * W + x) * C;
                if (extra == Extra::OutputAhead && o + size_t(dist) * C < out + kElems) {
                    const char *q = reinterpret_cast<const char *>(o + size_t(dist) * C);
                    for (int b = 0; b < C * 4; b += 64) _mm_prefetch(q + b, _MM_HINT_T0);
                }
                for (int k = 0; k < 16; k++) {
                    const __m512 v = _mm512_div_ps(acc[k], d);
                    if (extra == Extra::StreamStores) _mm512_stream_ps(o + 16 * k, v);
                    else _mm512_storeu_ps(o + 16 * k, v);
                }
            }
        }
    if (extra == Extra::StreamStores) _mm_sfence();
}

void copy_div(const float *in, float *out) {
    for (size_t i = 0; i < kElems; i += 16) _mm512_storeu_ps(out + i, _mm512_div_ps(_mm512_loadu_ps(in + i), _mm512_set1_ps(9.f)));
}
void read_only(const float *in, float *out) {
    __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (size_t i = 0; i < kElems; i += 64)
        for (int k = 0; k < 4; k++) a[k] = _mm512_add_ps(a[k], _mm512_loadu_ps(in + i + 16 * k));
    _mm512_storeu_ps(out, _mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3])));
}
void write_only(const float *, float *out) {
    for (size_t i = 0; i < kElems; i += 16) _mm512_storeu_ps(out + i, _mm512_set1_ps(1.f));
}
}  // namespace

int main() {
    const int sets = 1 + int((size_t(128) << 20) / (kElems * 8));
    std::vector<float *> ins, outs;
    for (int s = 0; s < sets; s++) {
        auto *a = static_cast<float *>(std::aligned_alloc(64, kElems * 4));
        auto *b = static_cast<float *>(std::aligned_alloc(64, kElems * 4));
        for (size_t i = 0; i < kElems; i++) a[i] = float(i % 13) * 0.125f;
        std::memset(b, 0, kElems * 4);
        ins.push_back(a);
        outs.push_back(b);
    }
    auto time = [&](const char *name, auto fn) {
        for (int cold = 0; cold < 2; cold++) {
            std::vector<double> t;
            int s = 0;
            for (int r = 0; r < 15; r++) {
                int reps = 0;
                double ms = 0;
                const auto t0 = std::chrono::steady_clock::now();
                do {
                    fn(ins[cold ? s : 0], outs[cold ? s : 0]);
                    s = (s + 1) % sets;
                    reps++;
                    ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
                } while (ms < 100);
                t.push_back(ms / reps);
            }
            std::sort(t.begin(), t.end());
            std::printf("%-34s %s  median %.3f ms  min %.3f ms\n", name, cold ? "cold" : "warm", t[t.size() / 2], t[0]);
        }
    };
    time("avg 3x3", [](const float *i, float *o) { avg3x3(i, o, Extra::None, 0); });
    for (int d : {2, 4, 8, 16}) {
        const std::string name = "avg 3x3, input pixel " + std::to_string(d) + " ahead";
        time(name.c_str(), [d](const float *i, float *o) { avg3x3(i, o, Extra::InputPixelAhead, d); });
    }
    time("avg 3x3, next input row at row start", [](const float *i, float *o) { avg3x3(i, o, Extra::InputNextRow, 0); });
    for (int d : {2, 4, 8}) {
        const std::string name = "avg 3x3, output pixel " + std::to_string(d) + " ahead";
        time(name.c_str(), [d](const float *i, float *o) { avg3x3(i, o, Extra::OutputAhead, d); });
    }
    time("avg 3x3, non-temporal stores", [](const float *i, float *o) { avg3x3(i, o, Extra::StreamStores, 0); });
    time("copy / 9 (one tap)", copy_div);
    time("read input only", read_only);
    time("write output only", write_only);
    return 0;
}
