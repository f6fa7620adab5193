// A small JSON text builder for bodies the engine must fix byte for byte (webhook payloads are
// signed and stored as written). No parsing, no Boost: the domain layer stays light.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace varelay {

// Members and elements are written in call order. The caller keeps the nesting balanced
// (debug builds assert it); strings are escaped per RFC 8259 and assumed to be valid UTF-8.
class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  // The name of the next member; inside an object only.
  JsonWriter& Key(std::string_view name);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(std::int64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  const std::string& text() const { return text_; }
  std::string Take() { return std::move(text_); }

 private:
  void Separate();

  std::string text_;
  bool need_comma_ = false;
  int depth_ = 0;
};

}  // namespace varelay
