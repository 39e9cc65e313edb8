// Embedding lookup: out[..., :] = table[ids[...], :]; the backward adds each
// output row's gradient into the table row it came from.
#include "kernels/cpu/embedding.hpp"
#include "kiln/ops/embedding.hpp"
#include "ops/op_helpers.hpp"

namespace kiln {

Tensor embedding(const Tensor& ids_in, const Tensor& table_in) {
  const char* op = "embedding";
  ops_detail::check_defined(ids_in, op, "ids");
  ops_detail::check_defined(table_in, op, "table");
  if (ids_in.dtype() != DType::Int32 && ids_in.dtype() != DType::Int64 && ids_in.dtype() != DType::UInt8) {
    throw Error(std::string(op) + ": ids must be int32, int64 or uint8, got " + dtype_name(ids_in.dtype()));
  }
  ops_detail::check_ndim(table_in, 2, op, "table", "[vocabulary, width]");
  const std::int64_t V = table_in.size(0), D = table_in.size(1), n = ids_in.numel();
  const auto ids = std::make_shared<std::vector<std::int64_t>>(ids_in.to_vector<std::int64_t>());
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t id = (*ids)[i];
    if (id < 0 || id >= V) {
      throw Error(std::string(op) + ": id " + std::to_string(id) + " at position " + std::to_string(i) +
                  " (flat) of ids of shape " + shape_str(ids_in.shape()) + " is outside [0, " + std::to_string(V) +
                  ")");
    }
  }
  const Tensor table = table_in.contiguous();
  Shape shape = ids_in.shape();
  shape.push_back(D);
  Tensor out = Tensor::empty(shape, table.dtype());
  ops_detail::dispatch_floating(table.dtype(), op, [&]<typename T>() {
    kernels::cpu::embedding_gather<T>(ids->data(), n, table.data<T>(), D, out.data<T>());
  });
  if (autograd::needs_grad({&table_in})) {
    autograd::record(out, op, {table_in}, [ids, n, V, D](const Tensor& g_in) -> std::vector<Tensor> {
      const Tensor g = g_in.contiguous();
      Tensor gt = Tensor::zeros({V, D}, g.dtype());
      ops_detail::dispatch_floating(g.dtype(), "embedding", [&]<typename T>() {
        kernels::cpu::embedding_scatter_add<T>(ids->data(), n, g.data<T>(), D, gt.data<T>());
      });
      return {gt};
    });
  }
  return out;
}

}  // namespace kiln
