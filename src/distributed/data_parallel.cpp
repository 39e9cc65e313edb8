// DataParallel: gradients averaged over ranks in buckets, each reduced by a non-blocking
// MPI_Iallreduce as soon as backward() has finished all of its gradients (PyTorch DDP's
// Reducer, Horovod's fusion buffer), so communication overlaps the rest of the backward pass.
//
// Buckets hold the model's trainable weights in reverse order (the order backward finishes
// them, roughly), one dtype each, up to bucket_cap_mb. They are launched strictly in index
// order, so every rank starts the same collectives in the same order whatever order its
// gradients became ready in. Each rank packs its gradient scaled by its share of the global
// batch (local / global rows), so the sum over ranks is the global batch's mean gradient, the
// uneven last batch included.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_map>

#include "distributed/runtime.hpp"
#include "kiln/autograd.hpp"
#include "kiln/autograd_hooks.hpp"
#include "kiln/distributed.hpp"
#include "kiln/distribution.hpp"
#include "kiln/error.hpp"
#include "kiln/model.hpp"
#include "kiln/random.hpp"

namespace kiln::distributed {

class DataParallel::Reducer : public distribution::Strategy {
 public:
  Reducer(Model& model, const DataParallelOptions& options) : model_(model), options_(options) {
    if (!(options.bucket_cap_mb > 0)) {
      throw Error("DataParallel: bucket_cap_mb must be positive, got " + std::to_string(options.bucket_cap_mb));
    }
  }

  int rank() const override { return distributed::rank(); }
  int world_size() const override { return distributed::world_size(); }
  bool covers(const Model& model) const override { return &model == &model_; }

  void on_fit_begin(Model& model) override {
    plan_ = make_plan(model.trainable_weights());
    broadcast_state(model);
    if (options_.seed_per_rank) {
      // Dropout masks and random augmentation differ per rank: each generator's next draw (the same on
      // every rank, which built or loaded the model alike), made distinct by the rank.
      const std::uint64_t salt = 0x9E3779B97F4A7C15ull * std::uint64_t(rank() + 1);
      default_generator().seed_with(default_generator().next_u64() ^ salt);
      for (const auto& layer : model.layers()) {
        for (Generator* g : layer->generators()) g->seed_with(g->next_u64() ^ salt);
      }
    }
  }

  void on_step_begin(std::int64_t local, std::int64_t global) override {
    share_ = global > 0 ? double(local) / double(global) : 0.0;
  }

  void sum(std::vector<double>& values) override { distributed::sum(values); }

  void on_grad_ready(const Tensor& leaf) {
    if (!training || plan_.buckets.empty()) return;
    const auto it = plan_.where.find(leaf.impl());
    if (it == plan_.where.end()) return;
    Bucket& b = plan_.buckets[it->second.first];
    if (b.launched) {
      stale_ = true;  // a second backward before the step: reduce at apply time instead
      return;
    }
    if (!b.ready[it->second.second]) {
      b.ready[it->second.second] = true;
      ++b.ready_count;
    }
    while (next_launch_ < plan_.buckets.size() &&
           plan_.buckets[next_launch_].ready_count == plan_.buckets[next_launch_].members.size()) {
      Bucket& next = plan_.buckets[next_launch_++];
      std::vector<Tensor> grads;
      for (std::size_t m : next.members) grads.push_back(plan_.params[m].grad());
      launch(next, grads, /*during_backward=*/true);
    }
    detail::poke(in_flight_);
  }

  void reduce_gradients(std::vector<Tensor>& grads, const std::vector<Tensor>& params) override {
    const auto start = std::chrono::steady_clock::now();
    if (!stale_ && same_params(params, plan_.params)) {
      for (; next_launch_ < plan_.buckets.size(); ++next_launch_) {
        Bucket& b = plan_.buckets[next_launch_];
        launch(b, members_of(b, grads), false);
      }
      detail::wait_all(in_flight_, "the gradient allreduce");
      unpack(plan_, grads);
    } else {
      // Another set of weights (a custom train_step's optimizers), or gradients that changed after their
      // bucket left: what was launched is finished and dropped (every rank does the same), and these
      // gradients are reduced now.
      detail::wait_all(in_flight_, "the gradient allreduce");
      Plan plan = make_plan(params);
      for (Bucket& b : plan.buckets) launch(b, members_of(b, grads), false);
      detail::wait_all(in_flight_, "the gradient allreduce");
      unpack(plan, grads);
    }
    stats_.wait_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++stats_.steps;
    reset_step();
  }

  std::vector<std::vector<std::size_t>> buckets() const {
    std::vector<std::vector<std::size_t>> out;
    for (const Bucket& b : plan_.buckets) out.push_back(b.members);
    return out;
  }

  CommunicationStats stats() const {
    CommunicationStats s = stats_;
    s.launched_during_backward = stats_.buckets ? double(launched_early_) / double(stats_.buckets) : 0.0;
    return s;
  }

 private:
  struct Bucket {
    DType dtype = DType::Float32;
    std::vector<std::size_t> members;   // indices into the plan's params
    std::vector<std::int64_t> offsets;  // of each member in the buffer, in elements
    std::int64_t numel = 0;
    std::vector<char> buffer;
    std::vector<bool> ready;
    std::size_t ready_count = 0;
    bool launched = false;
  };
  struct Plan {
    std::vector<Tensor> params;
    std::unordered_map<const void*, std::pair<std::size_t, std::size_t>> where;  // impl -> (bucket, member)
    std::vector<Bucket> buckets;
  };

  Plan make_plan(const std::vector<Tensor>& params) const {
    Plan plan;
    plan.params = params;
    const auto cap = static_cast<std::int64_t>(options_.bucket_cap_mb * 1024 * 1024);
    for (std::size_t k = params.size(); k-- > 0;) {
      const Tensor& p = params[k];
      if (!p.defined()) continue;
      if (p.dtype() != DType::Float32 && p.dtype() != DType::Float64) {
        throw Error("DataParallel: weight '" + p.name() + "' is " + dtype_name(p.dtype()) +
                    "; gradients of float32 and float64 weights can be reduced");
      }
      const auto bytes = std::int64_t(dtype_size(p.dtype()));
      if (plan.buckets.empty() || plan.buckets.back().dtype != p.dtype() ||
          (plan.buckets.back().numel > 0 && (plan.buckets.back().numel + p.numel()) * bytes > cap)) {
        plan.buckets.emplace_back();
        plan.buckets.back().dtype = p.dtype();
      }
      Bucket& b = plan.buckets.back();
      plan.where[p.impl()] = {plan.buckets.size() - 1, b.members.size()};
      b.members.push_back(k);
      b.offsets.push_back(b.numel);
      b.numel += p.numel();
    }
    for (Bucket& b : plan.buckets) {
      b.buffer.resize(std::size_t(b.numel) * dtype_size(b.dtype));
      b.ready.assign(b.members.size(), false);
    }
    return plan;
  }

  static bool same_params(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i].impl() != b[i].impl()) return false;
    }
    return true;
  }

  static std::vector<Tensor> members_of(const Bucket& b, const std::vector<Tensor>& grads) {
    std::vector<Tensor> out;
    for (std::size_t m : b.members) out.push_back(grads[m]);
    return out;
  }

  template <typename T>
  void pack_as(Bucket& b, const std::vector<Tensor>& grads) const {
    T* out = reinterpret_cast<T*>(b.buffer.data());
    const T share = static_cast<T>(share_);
    for (std::size_t i = 0; i < grads.size(); ++i) {
      T* dst = out + b.offsets[i];
      const std::int64_t n = (i + 1 < grads.size() ? b.offsets[i + 1] : b.numel) - b.offsets[i];
      if (!grads[i].defined()) {
        std::fill(dst, dst + n, T(0));
        continue;
      }
      const Tensor g = grads[i].contiguous();
      const T* src = g.data<T>();
      for (std::int64_t j = 0; j < n; ++j) dst[j] = src[j] * share;
    }
  }

  void launch(Bucket& b, const std::vector<Tensor>& grads, bool during_backward) {
    if (b.dtype == DType::Float32) {
      pack_as<float>(b, grads);
    } else {
      pack_as<double>(b, grads);
    }
    in_flight_.emplace_back();
    MPI_Iallreduce(MPI_IN_PLACE, b.buffer.data(), static_cast<int>(b.numel),
                   b.dtype == DType::Float32 ? MPI_FLOAT : MPI_DOUBLE, MPI_SUM, detail::comm(), &in_flight_.back());
    b.launched = true;
    ++stats_.buckets;
    stats_.bytes += std::int64_t(b.buffer.size());
    if (during_backward) ++launched_early_;
  }

  static void unpack(const Plan& plan, std::vector<Tensor>& grads) {
    for (const Bucket& b : plan.buckets) {
      const std::size_t bytes = dtype_size(b.dtype);
      for (std::size_t i = 0; i < b.members.size(); ++i) {
        Tensor& g = grads[b.members[i]];
        if (!g.defined()) continue;
        Tensor out = Tensor::empty(g.shape(), b.dtype);
        std::memcpy(out.raw_data(), b.buffer.data() + std::size_t(b.offsets[i]) * bytes,
                    std::size_t(out.numel()) * bytes);
        g = out;
      }
    }
  }

  void reset_step() {
    for (Bucket& b : plan_.buckets) {
      b.ready.assign(b.members.size(), false);
      b.ready_count = 0;
      b.launched = false;
    }
    next_launch_ = 0;
    stale_ = false;
  }

  // Rank 0's weights (trainable or not: BatchNormalization's moving statistics too), and its
  // optimizer's step count and slots, on every rank.
  void broadcast_state(Model& model) {
    std::vector<Tensor> weights = model.get_weights();
    for (Tensor& w : weights) w = w.contiguous().clone();
    bcast_tensors(weights, "broadcasting the weights");
    model.set_weights(weights);
    if (!model.compiled()) return;
    optim::Optimizer& opt = model.optimizer();
    long long iterations = opt.iterations();
    std::vector<MPI_Request> r(1);
    MPI_Ibcast(&iterations, 1, MPI_LONG_LONG, 0, detail::comm(), &r[0]);
    detail::wait_all(r, "broadcasting the optimizer state");
    opt.set_iterations(iterations);
    const std::size_t slot_count = opt.slot_names().size();
    std::vector<int> has(plan_.params.size());
    for (std::size_t i = 0; i < has.size(); ++i) has[i] = opt.slots().count(plan_.params[i].impl()) ? 1 : 0;
    r.assign(1, MPI_REQUEST_NULL);
    MPI_Ibcast(has.data(), static_cast<int>(has.size()), MPI_INT, 0, detail::comm(), &r[0]);
    detail::wait_all(r, "broadcasting the optimizer state");
    std::vector<Tensor> slots;
    for (std::size_t i = 0; i < has.size(); ++i) {
      if (!has[i]) continue;
      const Tensor& p = plan_.params[i];
      const auto it = opt.slots().find(p.impl());
      for (std::size_t s = 0; s < slot_count; ++s) {
        slots.push_back(it != opt.slots().end() ? it->second.values[s].contiguous().clone()
                                                : Tensor::zeros(p.shape(), p.dtype()));
      }
    }
    bcast_tensors(slots, "broadcasting the optimizer state");
    std::size_t at = 0;
    for (std::size_t i = 0; i < has.size(); ++i) {
      if (!has[i]) continue;
      std::vector<Tensor> values(slots.begin() + std::ptrdiff_t(at), slots.begin() + std::ptrdiff_t(at + slot_count));
      at += slot_count;
      opt.set_slots(plan_.params[i], std::move(values));
    }
  }

  static void bcast_tensors(std::vector<Tensor>& tensors, const char* what) {
    std::vector<MPI_Request> requests;
    for (Tensor& t : tensors) {
      if (t.numel() == 0) continue;
      requests.emplace_back();
      MPI_Ibcast(t.raw_data(), static_cast<int>(std::size_t(t.numel()) * dtype_size(t.dtype())), MPI_BYTE, 0,
                 detail::comm(), &requests.back());
    }
    detail::wait_all(requests, what);
  }

  Model& model_;
  DataParallelOptions options_;
  Plan plan_;
  std::vector<MPI_Request> in_flight_;
  std::size_t next_launch_ = 0;
  bool stale_ = false;
  double share_ = 1.0;
  CommunicationStats stats_;
  std::int64_t launched_early_ = 0;
};

DataParallel::DataParallel(Model& model, const DataParallelOptions& options) {
  if (!initialized()) throw Error("DataParallel: call kiln::distributed::init() first");
  if (distribution::strategy()) throw Error("DataParallel: one DataParallel at a time per process");
  reducer_ = std::make_shared<Reducer>(model, options);
  distribution::set_strategy(reducer_);
  autograd::set_grad_ready_hook([r = reducer_.get()](const Tensor& leaf) { r->on_grad_ready(leaf); });
}

DataParallel::~DataParallel() {
  autograd::set_grad_ready_hook({});
  distribution::set_strategy(nullptr);
}

std::vector<std::vector<std::size_t>> DataParallel::buckets() const { return reducer_->buckets(); }
CommunicationStats DataParallel::stats() const { return reducer_->stats(); }

}  // namespace kiln::distributed
