// poolgen::Status: the error type of every fallible call in the API (no exceptions cross it).
#pragma once
#include <string>
#include <utility>

namespace poolgen {

class Status {
public:
    Status() = default;
    static Status Ok() { return Status(); }
    static Status Error(std::string message) { return Status(std::move(message), true); }

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const std::string &message() const { return message_; }

private:
    Status(std::string message, bool failed) : message_(std::move(message)), failed_(failed) {}
    std::string message_;
    bool failed_ = false;
};

}  // namespace poolgen
