// HTTP as plain values, so request-to-response logic stays apart from the socket code.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace varelay::api {

struct HttpRequestView {
  std::string_view method;
  std::string_view target;  // origin-form: path and query
  std::string_view authorization;
  std::string_view content_type;
  std::string_view accept;
  std::string_view peer;  // the client's address, for limits per address
  std::string_view idempotency_key;
  bool has_idempotency_key = false;
  std::string_view body;
  // A bank's request signature (Varelay-Timestamp, Varelay-Signature), when either is present.
  bool has_signature = false;
  std::string_view signature_timestamp;
  std::string_view signature;
  std::string_view if_none_match;  // a web page's cached ETag (static_files.h)
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace varelay::api
