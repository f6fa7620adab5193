// Internal to the ISO 20022 reader: a parsed document with the guards every message passes
// (size, encoding, no DTD, depth) and child look-ups by local name in the message's namespace.
#pragma once

#include <pugixml.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "domain/error.h"

namespace varelay::iso20022::detail {

class XmlTree {
 public:
  // Parses `xml` after checking size, UTF-8, no NUL byte and no DOCTYPE; afterwards checks the
  // depth, a single root element and the declared encoding. Fails with the codes listed in camt.h.
  static Result<XmlTree> Parse(std::string_view xml, std::size_t max_bytes, int max_depth);

  pugi::xml_node root() const { return document_->document_element(); }
  // The local name of the root ("Document") and the namespace it is bound to ("" when none).
  std::string_view root_local_name() const;
  std::string_view root_namespace() const { return namespace_; }

  // True when `node` is an element named `local` in the root's namespace prefix.
  bool Is(pugi::xml_node node, std::string_view local) const;
  // The first child element named `local`, or an empty node.
  pugi::xml_node First(pugi::xml_node parent, std::string_view local) const;
  // The only child named `local`, an empty node when there is none; kInvalidField when repeated.
  Result<pugi::xml_node> Optional(pugi::xml_node parent, std::string_view local,
                                  const std::string& where) const;
  // As Optional, but kMissingField when absent.
  Result<pugi::xml_node> Required(pugi::xml_node parent, std::string_view local,
                                  const std::string& where) const;
  // Calls f(child, n) for each child element named `local`, n counting from 1; stops early and
  // returns f's error when f fails.
  template <typename F>
  Result<void> Each(pugi::xml_node parent, std::string_view local, F&& f) const {
    int n = 0;
    for (pugi::xml_node child = parent.first_child(); child; child = child.next_sibling()) {
      if (!Is(child, local)) continue;
      if (auto done = f(child, ++n); !done) return done;
    }
    return {};
  }

 private:
  XmlTree() : document_(std::make_unique<pugi::xml_document>()) {}
  Result<void> CheckTree(int max_depth);

  std::unique_ptr<pugi::xml_document> document_;
  std::string prefix_;     // "" or "ns2:"
  std::string namespace_;  // the URI bound to the root's prefix
};

// The character data of a leaf element (text and CDATA, comments skipped). kInvalidField when the
// element has child elements. `Trimmed` strips surrounding XML white space; `Exact` does not.
Result<std::string> ExactText(pugi::xml_node node, const std::string& where);
Result<std::string> TrimmedText(pugi::xml_node node, const std::string& where);

}  // namespace varelay::iso20022::detail
