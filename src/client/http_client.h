// A small blocking HTTP/1.1 client over one kept-alive connection: for the operator CLI and the
// benchmark. Reconnects once when the server closed an idle connection.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/error.h"

namespace varelay::client {

struct Reply {
  int status = 0;
  std::string content_type;
  std::string body;
};

class HttpClient {
 public:
  // `base_url`: "http://host:port" (no path). Fails on anything else.
  static Result<std::unique_ptr<HttpClient>> Create(std::string_view base_url,
                                                    std::chrono::seconds timeout = std::chrono::seconds(60));
  ~HttpClient();

  // Sends one request; `bearer` and `body` may be empty (a body is sent as application/json unless
  // `headers` name another Content-Type).
  Result<Reply> Send(std::string_view method, std::string_view target, std::string_view bearer,
                     std::string_view body = {},
                     const std::vector<std::pair<std::string, std::string>>& headers = {});

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace varelay::client
