// A thin RAII layer over sqlite3 prepared statements: bind by position, step, read columns.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace varelay::sqlite {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }

  // Binds are 1-based, in order of the placeholders.
  Statement& Bind(int index, std::int64_t value);
  Statement& Bind(int index, std::string_view value);
  Statement& Bind(int index, std::optional<std::int64_t> value);
  Statement& BindNull(int index);

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step();
  // Steps to completion; returns SQLITE_DONE or the error code.
  int Run();
  void Reset();

  std::int64_t Int(int column) const;
  std::optional<std::int64_t> OptionalInt(int column) const;
  std::string Text(int column) const;
  // The column's text without a copy: valid until the next Step, Reset or read of this column
  // as another type.
  std::string_view View(int column) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace varelay::sqlite
