#include "domain/json_writer.h"

#include "domain/assert.h"

namespace varelay {

void JsonWriter::Separate() {
  if (need_comma_) text_ += ',';
  need_comma_ = true;
}

JsonWriter& JsonWriter::BeginObject() {
  Separate();
  text_ += '{';
  need_comma_ = false;
  ++depth_;
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  VARELAY_ASSERT(depth_ > 0, "balanced nesting");
  text_ += '}';
  need_comma_ = true;
  --depth_;
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  Separate();
  text_ += '[';
  need_comma_ = false;
  ++depth_;
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  VARELAY_ASSERT(depth_ > 0, "balanced nesting");
  text_ += ']';
  need_comma_ = true;
  --depth_;
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view name) {
  String(name);
  text_ += ':';
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  Separate();
  text_ += '"';
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': text_ += "\\\""; break;
      case '\\': text_ += "\\\\"; break;
      case '\n': text_ += "\\n"; break;
      case '\r': text_ += "\\r"; break;
      case '\t': text_ += "\\t"; break;
      case '\b': text_ += "\\b"; break;
      case '\f': text_ += "\\f"; break;
      default:
        if (c < 0x20) {
          constexpr char kHex[] = "0123456789abcdef";
          text_ += "\\u00";
          text_ += kHex[c >> 4];
          text_ += kHex[c & 0xf];
        } else {
          text_ += ch;
        }
    }
  }
  text_ += '"';
  return *this;
}

JsonWriter& JsonWriter::Int(std::int64_t value) {
  Separate();
  text_ += std::to_string(value);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  Separate();
  text_ += value ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::Null() {
  Separate();
  text_ += "null";
  return *this;
}

}  // namespace varelay
