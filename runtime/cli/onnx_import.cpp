#include "onnx_import.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "poolgen/manifest.h"
#include "poolgen/util.h"

extern char **environ;

namespace poolgen::cli {
namespace {

bool is_file(const std::string &p) {
    struct stat st;
    return !p.empty() && stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string dir_of(const std::string &p) {
    const size_t slash = p.rfind('/');
    return slash == std::string::npos ? "." : p.substr(0, slash);
}

// The reader beside an installed CLI (PREFIX/bin -> PREFIX/share/poolgen), else in the source
// tree this CLI was built from.
std::string find_reader() {
    const std::string exe = util::self_exe_path();
    if (!exe.empty()) {
        const std::string installed = dir_of(exe) + "/../share/poolgen/onnx_import.py";
        if (is_file(installed)) return installed;
    }
    const std::string source = POOLGEN_SOURCE_DIR "/runtime/cli/onnx_import.py";
    return is_file(source) ? source : "";
}

std::string find_python(const std::string &given) {
    if (!given.empty()) return given;
    if (const char *env = std::getenv("POOLGEN_PYTHON"); env && *env) return env;
    if (is_file(POOLGEN_CONFIGURED_PYTHON)) return POOLGEN_CONFIGURED_PYTHON;
    return "python3";
}

// Runs argv with stdout captured; stderr passes through. Returns the exit status, or -1 with
// *error set when the program could not be run.
int run_captured(const std::vector<std::string> &argv, std::string *out, std::string *error) {
    int fds[2];
    if (pipe(fds) != 0) {
        *error = std::string("pipe: ") + std::strerror(errno);
        return -1;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::vector<char *> args;
    for (const std::string &a : argv) args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid;
    const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        *error = "cannot run '" + argv[0] + "': " + std::strerror(rc);
        return -1;
    }
    char buf[65536];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) out->append(buf, static_cast<size_t>(n));
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    *error = "'" + argv[0] + "' was killed by signal " + std::to_string(WTERMSIG(status));
    return -1;
}

}  // namespace

int import_onnx(const ImportOptions &opt) {
    const std::string reader = find_reader();
    if (reader.empty()) {
        std::cerr << "poolgen: error: the ONNX reader onnx_import.py is missing (looked beside this program "
                     "in ../share/poolgen and in the source tree)\n";
        return 1;
    }
    const std::string python = find_python(opt.python);
    std::vector<std::string> argv = {python, reader, opt.model};
    argv.insert(argv.end(), opt.passthrough.begin(), opt.passthrough.end());
    std::string manifest_text, error;
    const int rc = run_captured(argv, &manifest_text, &error);
    if (rc < 0) {
        std::cerr << "poolgen: error: " << error << " (the ONNX reader needs Python 3 with the 'onnx' package: "
                     "--python PATH or POOLGEN_PYTHON)\n";
        return 1;
    }
    if (rc != 0) return 1;  // the reader has said why on stderr
    Manifest m;
    if (Status s = parse_manifest(manifest_text, &m); !s.ok()) {
        std::cerr << "poolgen: error: the imported manifest is not valid: " << s.message() << "\n";
        return 1;
    }
    if (!util::write_file_atomic(opt.output, manifest_text, &error)) {
        std::cerr << "poolgen: error: " << error << "\n";
        return 1;
    }
    std::cerr << "poolgen: wrote " << opt.output << ": " << m.kernels.size() << " kernel(s)\n";
    return 0;
}

}  // namespace poolgen::cli
