// A stand-in for the CUDA driver, built as libcuda.so.1 (no unversioned libcuda.so beside it, as
// on a driver-only machine), so that the host side of the CUDA path runs without a GPU: device
// memory is host memory (filled with 0xff bytes when allocated), copies are memcpy, and a launch
// checks CUDA's limits and computes nothing. fake_cuda_stats() reports what happened;
// fake_cuda_fail_launches() makes launches fail, for the error paths.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace {
std::mutex mu;
long live_allocations = 0, htod_bytes = 0, dtoh_bytes = 0, launches = 0;
bool fail_launches = false;
constexpr int kSuccess = 0, kInvalidValue = 1, kUnknown = 999;
}  // namespace

extern "C" {

void fake_cuda_stats(long *live, long *htod, long *dtoh, long *launched) {
    std::lock_guard<std::mutex> lock(mu);
    *live = live_allocations;
    *htod = htod_bytes;
    *dtoh = dtoh_bytes;
    *launched = launches;
}

void fake_cuda_fail_launches(int on) {
    std::lock_guard<std::mutex> lock(mu);
    fail_launches = on != 0;
}

int cuInit(unsigned) { return kSuccess; }
int cuDriverGetVersion(int *v) { *v = 12000; return kSuccess; }
int cuDeviceGetCount(int *n) { *n = 1; return kSuccess; }
int cuDeviceGet(int *dev, int ordinal) { *dev = ordinal; return ordinal == 0 ? kSuccess : kInvalidValue; }
int cuDeviceGetAttribute(int *v, int, int) { *v = 1; return kSuccess; }
int cuDeviceGetName(char *name, int len, int) { std::strncpy(name, "fake", size_t(len)); return kSuccess; }
int cuDeviceTotalMem_v2(size_t *bytes, int) { *bytes = size_t(1) << 30; return kSuccess; }
int cuCtxCreate_v2(void **ctx, unsigned, int) { *ctx = reinterpret_cast<void *>(0x1000); return kSuccess; }
int cuCtxDestroy_v2(void *) { return kSuccess; }
int cuProfilerStop() { return kSuccess; }
int cuCtxGetApiVersion(void *, unsigned *v) { *v = 3020; return kSuccess; }
int cuCtxGetDevice(int *dev) { *dev = 0; return kSuccess; }
int cuModuleLoadData(void **m, const void *) { *m = reinterpret_cast<void *>(0x2000); return kSuccess; }
int cuModuleLoadDataEx(void **m, const void *, unsigned, void *, void **) { *m = reinterpret_cast<void *>(0x2000); return kSuccess; }
int cuModuleUnload(void *) { return kSuccess; }
int cuModuleGetFunction(void **f, void *, const char *) { *f = reinterpret_cast<void *>(0x3000); return kSuccess; }
int cuMemAlloc_v2(uint64_t *p, size_t bytes) {
    void *m = std::malloc(bytes);
    if (!m) return 2;  // CUDA_ERROR_OUT_OF_MEMORY
    std::memset(m, 0xff, bytes);
    *p = reinterpret_cast<uint64_t>(m);
    std::lock_guard<std::mutex> lock(mu);
    live_allocations++;
    return kSuccess;
}
int cuMemFree_v2(uint64_t p) {
    std::free(reinterpret_cast<void *>(p));
    std::lock_guard<std::mutex> lock(mu);
    live_allocations--;
    return kSuccess;
}
int cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t n) {
    std::memcpy(reinterpret_cast<void *>(dst), src, n);
    std::lock_guard<std::mutex> lock(mu);
    htod_bytes += long(n);
    return kSuccess;
}
int cuMemcpyDtoH_v2(void *dst, uint64_t src, size_t n) {
    std::memcpy(dst, reinterpret_cast<const void *>(src), n);
    std::lock_guard<std::mutex> lock(mu);
    dtoh_bytes += long(n);
    return kSuccess;
}
int cuMemcpyDtoD_v2(uint64_t dst, uint64_t src, size_t n) {
    std::memmove(reinterpret_cast<void *>(dst), reinterpret_cast<const void *>(src), n);
    return kSuccess;
}
int cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t n, void *) { return cuMemcpyHtoD_v2(dst, src, n); }
int cuMemcpyDtoHAsync_v2(void *dst, uint64_t src, size_t n, void *) { return cuMemcpyDtoH_v2(dst, src, n); }
int cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t n, void *) { return cuMemcpyDtoD_v2(dst, src, n); }
int cuMemcpy3D_v2(const void *) { return kInvalidValue; }
int cuLaunchKernel(void *, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared, void *,
                   void **, void **) {
    std::lock_guard<std::mutex> lock(mu);
    if (fail_launches) return kUnknown;
    if (gx == 0 || gy == 0 || gz == 0 || gx > 2147483647u || gy > 65535 || gz > 65535 || bx * by * bz == 0 ||
        bx * by * bz > 1024 || bz > 64 || shared > 48 * 1024)
        return kInvalidValue;
    launches++;
    return kSuccess;
}
int cuCtxSynchronize() { return kSuccess; }
int cuCtxPushCurrent_v2(void *) { return kSuccess; }
int cuCtxPopCurrent_v2(void **ctx) { if (ctx) *ctx = reinterpret_cast<void *>(0x1000); return kSuccess; }
int cuPointerGetAttribute(void *, int, uint64_t) { return kSuccess; }
int cuStreamSynchronize(void *) { return kSuccess; }

}  // extern "C"
