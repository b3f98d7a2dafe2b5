# poolgen: the set-up commands. `make demo` and `make test` work from a fresh clone on
# Debian 12; they install what is missing (apt when root, the rest into .venv).
SHELL := /bin/bash
.DEFAULT_GOAL := demo

HALIDE_VERSION := 21.0.0
CMAKE_PIP      := cmake>=3.28,<4.2
NINJA_PIP      := ninja>=1.11
# `poolgen import` reads ONNX models with onnx; its test compares with onnxruntime.
ONNX_PIP       := onnx==1.23.2 onnxruntime==1.32.0 numpy>=1.26
APT_PACKAGES   := g++ make python3 python3-venv catch2 nlohmann-json3-dev libcli11-dev
# Optional (about 70 MB): the aarch64 cross toolchain and qemu-user for the package.cross_aarch64
# test; `make test` installs them when root, and the test is skipped without them.
APT_CROSS_PACKAGES := g++-aarch64-linux-gnu qemu-user
# Optional: an OpenCL CPU device (PoCL) for the gpu_schedules.opencl test, which runs the GPU
# strategy through Halide's OpenCL backend; installed by `make test` when root, else skipped.
APT_OPENCL_PACKAGES := ocl-icd-libopencl1 pocl-opencl-icd

VENV     := $(CURDIR)/.venv
PY       := $(VENV)/bin/python
STAMP    := $(VENV)/.poolgen-deps-$(HALIDE_VERSION)-onnx1.23.2
BUILD    ?= build
MANIFEST ?= configs/default.json
PREFIX   ?= $(CURDIR)/install
JOBS     ?= $(shell nproc)

# Paths inside the venv, resolved after the venv exists.
HALIDE_DIR = $(shell $(PY) -c 'import halide, os; print(os.path.join(os.path.dirname(halide.__file__), "lib64", "cmake", "Halide"))' 2>/dev/null)
TOOLPATH   = $(VENV)/bin:$(PATH)
CMAKE      = PATH="$(TOOLPATH)" cmake

.PHONY: demo test build install env deps cross-deps opencl-deps configure clean anchors

deps: $(STAMP)

$(STAMP):
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "poolgen: installing Debian packages:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	  else echo "poolgen: missing Debian packages:$$missing (run as root, or: sudo apt-get install$$missing)" >&2; exit 1; fi; fi
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "halide==$(HALIDE_VERSION)" "$(CMAKE_PIP)" "$(NINJA_PIP)"
	$(PY) -m pip install -q --disable-pip-version-check $(foreach p,$(ONNX_PIP),"$(p)") \
	  || echo "poolgen: could not install $(ONNX_PIP); poolgen import and its test will be skipped" >&2
	@touch $@

# Optional Debian packages, $(call optional_apt,PACKAGES,TEST): installed when root, else TEST
# is skipped.
define optional_apt
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "poolgen: installing Debian packages for $(2):$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; { apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; } \
	      || echo "poolgen: could not install$$missing; $(2) will be skipped" >&2; \
	  else echo "poolgen: optional Debian packages missing:$$missing; $(2) will be skipped" >&2; fi; fi
endef

cross-deps:
	$(call optional_apt,$(APT_CROSS_PACKAGES),package.cross_aarch64)

opencl-deps:
	$(call optional_apt,$(APT_OPENCL_PACKAGES),gpu_schedules.opencl)

# Today's anchors for `poolgen bench` (not part of `make test`; about 1.3 GB): oneDNN 3.2 with
# GNU OpenMP (the newest oneDNN wheel with a plain CPU runtime: the 2026.x onednn wheels are the
# SYCL build, whose CPU engine needs a SYCL device and adds about 9 us a call) and libtorch
# 2.15 (the torch wheel's C++ libraries, with the two CUDA runtime libraries libtorch_cpu.so
# links), into $(ANCHORS), outside the venv's import path. Every later configure finds them.
ANCHORS     := $(VENV)/anchors
ANCHORS_PIP := onednn-devel-cpu-gomp==2023.2.0 onednn-cpu-gomp==2023.2.0 torch==2.15.0 \
               nvidia-cuda-runtime==13.2.86 nvidia-cuda-cupti==13.2.86
ANCHORS_STAMP := $(ANCHORS)/.poolgen-anchors-dnnl3.2-torch2.15

anchors: $(ANCHORS_STAMP)

$(ANCHORS_STAMP): $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --prefix "$(ANCHORS)" $(foreach p,$(ANCHORS_PIP),"$(p)")
	@touch $@
	@echo "poolgen: anchors installed in $(ANCHORS); the next make build compiles the bench's anchor modules against them"

# Tests build a second kernel set (PyTorch's golden cases); user manifests skip them.
TESTS ?= $(if $(filter $(abspath configs/default.json),$(abspath $(MANIFEST))),ON,OFF)

# Configuring again is cheap and picks up a changed MANIFEST for an existing BUILD. Paths are
# quoted and resolved by the shell: make's own functions split them at spaces.
configure: $(STAMP)
	@mkdir -p "$$(dirname -- "$(BUILD)")" && $(CMAKE) -S . -B "$(BUILD)" -G Ninja -DCMAKE_BUILD_TYPE=Release -Wno-dev \
	  -DHalide_DIR="$(HALIDE_DIR)" -DPOOLGEN_MANIFEST="$$(realpath -sm -- "$(MANIFEST)")" \
	  -DPOOLGEN_BUILD_TESTS=$(TESTS) $(CMAKE_ARGS) >"$(BUILD).configure.log" 2>&1 || { cat "$(BUILD).configure.log" >&2; exit 1; }

build: configure
	$(CMAKE) --build "$(BUILD)" -j $(JOBS)

demo: build
	"$(BUILD)/poolgen" check --time --min-time 0.1

# The suite runs on the default manifest in ./build, then again under sanitizers (below).
test: fuzz-deps
	@$(MAKE) --no-print-directory cross-deps
	@$(MAKE) --no-print-directory opencl-deps
	$(MAKE) --no-print-directory build BUILD=build MANIFEST=configs/default.json TESTS=ON
	cd build && PATH="$(TOOLPATH)" ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory test-sanitize

install: build
	$(CMAKE) --install "$(BUILD)" --prefix "$$(realpath -sm -- "$(PREFIX)")"

# eval "$(make -s env)" puts the project's toolchain on PATH and CMAKE_PREFIX_PATH.
env: $(STAMP)
	@echo 'export PATH="$(VENV)/bin:$$PATH"'
	@echo 'export CMAKE_PREFIX_PATH="$(HALIDE_DIR):$${CMAKE_PREFIX_PATH}"'

clean:
	rm -rf build build.configure.log

# --- Hardening (tests/fuzz, cmake/PoolgenSanitize.cmake; docs/testing.md, "Limits").
# clang and its libFuzzer runtime for the fuzz tests: installed when root, else the fuzz tests
# print [SKIP]. Never required.
FUZZ_APT_PACKAGES := clang libclang-rt-14-dev
.PHONY: fuzz-deps test-sanitize test-asan test-tsan test-nightly test-pytorch fuzz
fuzz-deps:
	@missing=""; for p in $(FUZZ_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "poolgen: installing Debian packages for the fuzz tests:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing \
	      || echo "poolgen: could not install$$missing; the fuzz tests will be skipped" >&2; \
	  else echo "poolgen: not root and$$missing missing: the fuzz tests will be skipped"; fi; fi

# The whole suite with AddressSanitizer + UndefinedBehaviorSanitizer on libpoolgen, the CLI and
# the tests (the Halide generator and the kernels it emits are not instrumented), and the
# concurrency test with ThreadSanitizer. Each in its own tree, on the default manifest.
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
           UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
           TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp
test-sanitize: test-asan test-tsan

test-asan: deps
	$(MAKE) --no-print-directory build BUILD=build-asan MANIFEST=configs/default.json TESTS=ON \
	  CMAKE_ARGS="-DPOOLGEN_SANITIZE=address,undefined -DPOOLGEN_FUZZ=OFF"
	cd build-asan && $(SAN_ENV) PATH="$(TOOLPATH)" ctest --output-on-failure -j $(JOBS)

test-tsan: deps
	$(MAKE) --no-print-directory configure BUILD=build-tsan MANIFEST=configs/default.json TESTS=ON \
	  CMAKE_ARGS="-DPOOLGEN_SANITIZE=thread -DPOOLGEN_FUZZ=OFF"
	$(CMAKE) --build build-tsan -j $(JOBS) --target poolgen_concurrency_tests
	cd build-tsan/tests && $(SAN_ENV) ./poolgen_concurrency_tests "[concurrency]"

# Longer runs, not part of `make test`: thousands of randomized differential cases with a fresh
# seed (POOLGEN_DIFF_SEED / POOLGEN_DIFF_CASES to choose), and each fuzz target for FUZZ_SECONDS.
FUZZ_SECONDS ?= 600
test-nightly:
	$(MAKE) --no-print-directory build BUILD=build MANIFEST=configs/default.json TESTS=ON
	build/tests/poolgen_tests "[.nightly]"
	POOLGEN_DISPATCH_LEVEL=2 build/tests/poolgen_tests "[.nightly]"
	POOLGEN_DISPATCH_LEVEL=1 build/tests/poolgen_tests "[.nightly]"

# Differential check against an installed PyTorch (tests/pytorch/compare_pytorch.py): a random
# manifest that PyTorch accepts (plus fixed edge cases) built and run on adversarial inputs,
# compared bit for bit, and random parameter sets through `poolgen validate`. Not part of
# `make test`: PyTorch is a multi-GB download. TORCH_PYTHON: a Python with torch and numpy.
TORCH_PYTHON    ?= python3
PYTORCH_SEED    ?= 1
PYTORCH_KERNELS ?= 60
test-pytorch:
	@"$(TORCH_PYTHON)" -c 'import torch, numpy' 2>/dev/null || { echo "poolgen: test-pytorch needs torch and numpy in TORCH_PYTHON=$(TORCH_PYTHON) (python3 -m venv V && V/bin/pip install torch numpy, then TORCH_PYTHON=V/bin/python)" >&2; exit 2; }
	@mkdir -p build-pytorch
	"$(TORCH_PYTHON)" tests/pytorch/compare_pytorch.py manifest build-pytorch/manifest.json --seed $(PYTORCH_SEED) --count $(PYTORCH_KERNELS)
	$(MAKE) --no-print-directory build BUILD=build-pytorch/build MANIFEST=build-pytorch/manifest.json
	"$(TORCH_PYTHON)" tests/pytorch/compare_pytorch.py values build-pytorch/manifest.json build-pytorch/build/poolgen --seed $(PYTORCH_SEED)
	"$(TORCH_PYTHON)" tests/pytorch/compare_pytorch.py validate build-pytorch/build/poolgen --seed $(PYTORCH_SEED)

fuzz: fuzz-deps
	$(MAKE) --no-print-directory build BUILD=build MANIFEST=configs/default.json TESTS=ON
	cd build && POOLGEN_FUZZ_SECONDS=$(FUZZ_SECONDS) PATH="$(TOOLPATH)" ctest --output-on-failure -L fuzz -j $(JOBS)
