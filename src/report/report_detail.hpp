// Shared by the report writers.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace kiln::report_detail {

// Indices of at most `most` points of an n-point curve, evenly spread, first and last kept.
// Curves are thinned for pictures only; every number computed uses all the points.
std::vector<std::size_t> thin(std::size_t n, std::size_t most);

// The metric names of a history, without their "val_" twins or the learning rate:
// "loss", then the others in name order.
std::vector<std::string> curve_metrics(const std::vector<std::string>& history_keys);

}  // namespace kiln::report_detail
