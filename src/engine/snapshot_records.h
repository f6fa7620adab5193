// The stop snapshot's records (relay_snapshot.cpp writes and reads them), declared here so that
// tests forging a file write exactly what the relay writes: a header naming the store's token, then
// pools, numbers, free lists and live assignments.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "domain/model.h"
#include "domain/time.h"
#include "engine/snapshot_file.h"

namespace varelay {

// The format's name and version, then the token the store names.
void WriteSnapshotHeader(SnapshotWriter& w, std::string_view token);
// One number; `pool_id` is its pool's place in the pool list written before the numbers.
void WriteSnapshotNumber(SnapshotWriter& w, std::uint64_t pool_id, NumberState state,
                         std::string_view number, std::string_view assignment_id,
                         std::int64_t generation, std::int64_t event_seq,
                         const std::optional<Instant>& release_at);
void WriteSnapshotAssignment(SnapshotWriter& w, const Assignment& a);

}  // namespace varelay
