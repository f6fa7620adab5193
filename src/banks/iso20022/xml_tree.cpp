#include "banks/iso20022/xml_tree.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

#include "domain/identifiers.h"

namespace varelay::iso20022::detail {
namespace {

bool ContainsDoctype(std::string_view xml) {
  constexpr std::string_view kDoctype = "<!doctype";
  auto it = std::search(xml.begin(), xml.end(), kDoctype.begin(), kDoctype.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  });
  return it != xml.end();
}

bool IsXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsXmlSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsXmlSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

Result<XmlTree> XmlTree::Parse(std::string_view xml, std::size_t max_bytes, int max_depth) {
  // Cheap byte-level refusals first, so that nothing large or hostile reaches the parser.
  if (xml.size() > max_bytes) {
    return Fail(ErrorCode::kBodyTooLarge, "the message is " + std::to_string(xml.size()) +
                                              " bytes; at most " + std::to_string(max_bytes) +
                                              " are accepted");
  }
  if (xml.find('\0') != std::string_view::npos) {
    return Fail(ErrorCode::kMalformedXml, "the message contains a NUL byte");
  }
  if (!IsValidUtf8(xml)) return Fail(ErrorCode::kInvalidUtf8, "the message is not valid UTF-8");
  // pugixml never expands entities beyond the five predefined ones, but a DTD has no place in a
  // bank message at all: refusing it outright keeps entity tricks out of every later layer.
  if (ContainsDoctype(xml)) {
    return Fail(ErrorCode::kMalformedXml, "a DOCTYPE is not accepted (no DTDs, no entities)");
  }
  XmlTree tree;
  constexpr unsigned kOptions = pugi::parse_cdata | pugi::parse_escapes | pugi::parse_eol |
                                pugi::parse_wconv_attribute | pugi::parse_declaration;
  pugi::xml_parse_result parsed =
      tree.document_->load_buffer(xml.data(), xml.size(), kOptions, pugi::encoding_utf8);
  if (!parsed) {
    return Fail(ErrorCode::kMalformedXml, std::string("not well-formed XML: ") +
                                                  parsed.description() + " at byte " +
                                                  std::to_string(parsed.offset));
  }
  if (auto checked = tree.CheckTree(max_depth); !checked) return std::unexpected(checked.error());
  return tree;
}

// One pass over the whole tree without recursion: nesting depth, exactly one root element, and
// an encoding declaration (if any) that names UTF-8.
Result<void> XmlTree::CheckTree(int max_depth) {
  int roots = 0;
  for (pugi::xml_node top = document_->first_child(); top; top = top.next_sibling()) {
    if (top.type() == pugi::node_element) ++roots;
    if (top.type() == pugi::node_declaration) {
      std::string_view encoding = top.attribute("encoding").value();
      if (!encoding.empty() && !EqualsIgnoringCase(encoding, "UTF-8") &&
          !EqualsIgnoringCase(encoding, "UTF8") && !EqualsIgnoringCase(encoding, "US-ASCII")) {
        return Fail(ErrorCode::kMalformedXml,
                    "the message declares encoding " + std::string(encoding) +
                        "; only UTF-8 is accepted");
      }
    }
  }
  if (roots != 1) {
    return Fail(ErrorCode::kMalformedXml, "the message must have exactly one root element");
  }
  int depth = 0;
  pugi::xml_node node = document_->first_child();
  while (node) {
    if (node.first_child()) {
      node = node.first_child();
      if (++depth > max_depth) {
        return Fail(ErrorCode::kMalformedXml,
                    "elements are nested deeper than " + std::to_string(max_depth));
      }
      continue;
    }
    while (node && !node.next_sibling()) {
      node = node.parent();
      --depth;
    }
    if (node) node = node.next_sibling();
  }
  std::string_view name = root().name();
  if (auto colon = name.find(':'); colon != std::string_view::npos) {
    prefix_ = std::string(name.substr(0, colon + 1));
  }
  std::string xmlns_attribute = prefix_.empty() ? "xmlns" : "xmlns:" + prefix_.substr(0, prefix_.size() - 1);
  namespace_ = root().attribute(xmlns_attribute.c_str()).value();
  return {};
}

std::string_view XmlTree::root_local_name() const {
  std::string_view name = root().name();
  return name.substr(prefix_.size());
}

bool XmlTree::Is(pugi::xml_node node, std::string_view local) const {
  if (node.type() != pugi::node_element) return false;
  std::string_view name = node.name();
  return name.size() == prefix_.size() + local.size() && name.starts_with(prefix_) &&
         name.substr(prefix_.size()) == local;
}

pugi::xml_node XmlTree::First(pugi::xml_node parent, std::string_view local) const {
  for (pugi::xml_node child = parent.first_child(); child; child = child.next_sibling()) {
    if (Is(child, local)) return child;
  }
  return {};
}

Result<pugi::xml_node> XmlTree::Optional(pugi::xml_node parent, std::string_view local,
                                         const std::string& where) const {
  pugi::xml_node found;
  for (pugi::xml_node child = parent.first_child(); child; child = child.next_sibling()) {
    if (!Is(child, local)) continue;
    if (found) {
      return Fail(ErrorCode::kInvalidField, "appears more than once", where + "/" + std::string(local));
    }
    found = child;
  }
  return found;
}

Result<pugi::xml_node> XmlTree::Required(pugi::xml_node parent, std::string_view local,
                                         const std::string& where) const {
  auto found = Optional(parent, local, where);
  if (found && !*found) {
    return Fail(ErrorCode::kMissingField, "is required", where + "/" + std::string(local));
  }
  return found;
}

Result<std::string> ExactText(pugi::xml_node node, const std::string& where) {
  std::string text;
  for (pugi::xml_node child = node.first_child(); child; child = child.next_sibling()) {
    switch (child.type()) {
      case pugi::node_pcdata:
      case pugi::node_cdata: text += child.value(); break;
      case pugi::node_element:
        return Fail(ErrorCode::kInvalidField, "must hold text, not elements", where);
      default: break;  // comments and processing instructions are not part of the value
    }
  }
  return text;
}

Result<std::string> TrimmedText(pugi::xml_node node, const std::string& where) {
  auto text = ExactText(node, where);
  if (!text) return text;
  return std::string(Trim(*text));
}

}  // namespace varelay::iso20022::detail
