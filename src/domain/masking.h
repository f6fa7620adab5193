// Masking personal data for answers to anyone but its owner and for operators' views: enough to
// tell two people or accounts apart, not enough to learn them. Pure functions; text is UTF-8 and
// counted in code points, so Korean names mask by syllable, not by byte.
#pragma once

#include <string>
#include <string_view>

namespace varelay {

// A name: one word keeps its first and last characters ("김철수" -> "김*수", "남궁민수" ->
// "남**수"; two characters keep the first: "이훈" -> "이*"; one: "*"); several words (split on
// spaces) keep each word's first character only ("John Smith" -> "J*** S****").
std::string MaskName(std::string_view name);

// A phone number: written in groups ("010-1234-5678", "02 123 4567") the first and last groups
// stay and the digits between are masked ("010-****-5678"); written as digits alone, ten or more
// keep the first three and last four ("01012345678" -> "010****5678"), fewer keep the last four.
// Characters other than digits (+, -, spaces) stay where they are.
std::string MaskPhone(std::string_view phone);

// The account with all but its last four characters replaced by '*' (shorter ones: all but the
// last one), so an operator can tell accounts apart without learning them.
std::string MaskAccount(std::string_view account);

// A birth date shows nothing: "****-**-**" whatever it is (empty stays empty).
std::string MaskBirthDate(std::string_view birth_date);

// An e-mail address keeps the first character of its local part and the whole domain, the rest
// of the local part becoming three '*' whatever its length ("jane.doe@example.com" ->
// "j***@example.com"). Without '@' it masks as a local part alone.
std::string MaskEmail(std::string_view email);

}  // namespace varelay
