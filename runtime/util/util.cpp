#include "poolgen/util.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace poolgen::util {

bool write_file_atomic(const std::string &path, const std::string &bytes, std::string *error, bool keep_if_unchanged) {
    auto fail = [&](const std::string &why) {
        if (error) *error = "cannot write '" + path + "': " + why;
        return false;
    };
    if (keep_if_unchanged) {
        std::ifstream old(path, std::ios::binary);
        if (old) {
            std::ostringstream current;
            current << old.rdbuf();
            if (current.str() == bytes) return true;
        }
    }
    // The process id keeps two writers of the same path from sharing a temporary file.
    const std::string tmp = path + ".tmp" + std::to_string(static_cast<long>(::getpid()));
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) return fail(std::strerror(errno));
        f << bytes;
        f.flush();
        if (!f.good()) {
            const std::string why = std::strerror(errno);
            f.close();
            std::remove(tmp.c_str());
            return fail(why);
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        std::remove(tmp.c_str());
        return fail(why);
    }
    return true;
}

}  // namespace poolgen::util
