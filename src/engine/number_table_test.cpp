#include "engine/number_table.h"

#include <gtest/gtest.h>

#include <string>

namespace varelay {
namespace {

std::string Number(int i) { return "5000" + std::to_string(1000000 + i); }

TEST(NumberTable, FindsWhatWasAddedByBankAndNumber) {
  NumberPool shop_at_a{"shop", "0101", "seoul", {}, 0, 0};
  NumberPool shop_at_b{"shop", "0201", "seoul", {}, 0, 0};
  NumberTable table;
  NumberSlot& a = table.Add(shop_at_a, "50001234567890");
  NumberSlot& b = table.Add(shop_at_b, "50001234567890");  // the same digits at another bank
  EXPECT_NE(&a, &b);
  EXPECT_EQ(table.Find("0101", "50001234567890"), &a);
  EXPECT_EQ(table.Find("0201", "50001234567890"), &b);
  EXPECT_EQ(table.Find("0301", "50001234567890"), nullptr);
  EXPECT_EQ(table.Find("0101", "50001234567891"), nullptr);
  EXPECT_EQ(a.bank(), "0101");
  EXPECT_EQ(b.merchant(), "shop");
  EXPECT_EQ(table.size(), 2u);
}

TEST(NumberTable, SlotsKeepTheirAddressWhileTheTableGrows) {
  NumberPool pool{"shop", "0101", "", {}, 0, 0};
  NumberTable table;  // the index doubles and new chunks are added as it fills
  std::vector<NumberSlot*> slots;
  for (int i = 0; i < 20000; ++i) slots.push_back(&table.Add(pool, Number(i)));
  for (int i = 0; i < 20000; ++i) {
    ASSERT_EQ(table.Find("0101", Number(i)), slots[static_cast<std::size_t>(i)]) << i;
    ASSERT_EQ(slots[static_cast<std::size_t>(i)]->number.view(), Number(i));
  }
  int visited = 0;
  table.ForEach([&](const NumberSlot& slot) {
    EXPECT_EQ(&slot, slots[static_cast<std::size_t>(visited)]);  // in the order added
    ++visited;
  });
  EXPECT_EQ(visited, 20000);
}

TEST(NumberTable, AnIndexBuiltAtOnceFindsWhatAProbedOneDoes) {
  NumberPool a{"shop", "0101", "", {}, 0, 0};
  NumberPool b{"shop", "0201", "", {}, 0, 0};
  for (int count : {0, 1, 11, 12, 1000, 50000}) {  // 11 and 12: either side of 70 % of 16
    NumberTable table;
    std::vector<NumberSlot*> slots;
    for (int i = 0; i < count; ++i)
      slots.push_back(&table.AddUnindexed(i % 2 ? a : b, Number(i / 2)));
    table.BuildIndex();
    for (int i = 0; i < count; ++i) {
      ASSERT_EQ(table.Find(i % 2 ? "0101" : "0201", Number(i / 2)),
                slots[static_cast<std::size_t>(i)])
          << count << " " << i;
    }
    EXPECT_EQ(table.Find("0101", "999999"), nullptr);
    // It goes on growing one number at a time afterwards.
    NumberSlot& more = table.Add(a, "777777777");
    EXPECT_EQ(table.Find("0101", "777777777"), &more);
    EXPECT_EQ(table.size(), static_cast<std::size_t>(count) + 1);
  }
}

TEST(NumberTable, RecordCarriesThePoolsFieldsAndTheSlotsState) {
  NumberPool pool{"shop", "0101", "busan", {}, 0, 0};
  NumberTable table;

  NumberSlot& slot = table.Add(pool, "1234567890123456");  // 16 digits, the longest number
  slot.state = NumberState::kCooling;
  slot.generation = 7;
  slot.event_seq = 12;
  slot.assignment_id.Assign("asg_0123456789ABCDEFGHJK");
  slot.release_at = Instant(Millis(1'700'000'000'000));
  NumberRecord r = slot.Record();
  EXPECT_EQ(r.bank, "0101");
  EXPECT_EQ(r.merchant, "shop");
  EXPECT_EQ(r.region, "busan");
  EXPECT_EQ(r.number, "1234567890123456");
  EXPECT_EQ(r.state, NumberState::kCooling);
  EXPECT_EQ(r.generation, 7);
  EXPECT_EQ(r.event_seq, 12);
  EXPECT_EQ(r.assignment_id, "asg_0123456789ABCDEFGHJK");
  EXPECT_EQ(r.release_at, slot.release_at);
}

TEST(NumberTable, HoldsNumbersUpToSixteenDigits) {
  EXPECT_TRUE(NumberTable::CanHold(std::string(16, '1')));
  EXPECT_FALSE(NumberTable::CanHold(std::string(17, '1')));
  EXPECT_TRUE(InlineString<31>::Fits(std::string(31, 'a')));
  EXPECT_FALSE(InlineString<31>::Fits(std::string(32, 'a')));
}

}  // namespace
}  // namespace varelay
