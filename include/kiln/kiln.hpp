// Kiln — a deep-learning framework in C++ with a Keras-like API.
//
// The article's CIFAR-10 classifier, line for line:
//
//   #include <kiln/kiln.hpp>
//   using namespace kiln::layers;
//
//   int main() {
//     auto [train, test] = kiln::datasets::cifar10::load_data();   // uint8 NHWC + labels
//     // "inputs / 255": done batch by batch, so the images stay uint8 in memory
//     auto train_ds = kiln::data::Dataset(train.images, train.labels).rescale(1.0 / 255);
//     auto test_ds = kiln::data::Dataset(test.images, test.labels).rescale(1.0 / 255);
//
//     kiln::Sequential model;
//     model.add(Conv2D(32, {3, 3}, "relu", {32, 32, 3}));
//     model.add(MaxPooling2D({2, 2}));
//     model.add(Conv2D(64, {3, 3}, "relu"));
//     model.add(MaxPooling2D({2, 2}));
//     model.add(Conv2D(64, {3, 3}, "relu"));
//     model.add(Flatten());
//     model.add(Dense(64, "relu"));
//     model.add(Dense(10, "softmax"));
//     model.summary();
//
//     model.compile(kiln::optim::Adam(), kiln::losses::SparseCategoricalCrossentropy(), {"accuracy"});
//     model.fit(train_ds, {.epochs = 10, .batch_size = 64, .validation_data = test_ds});
//     auto result = model.evaluate(test_ds, {.verbose = 2});
//     std::printf("Test accuracy: %.4f\n", result["accuracy"]);
//   }
//
// Underneath: Tensor (kiln/tensor.hpp) with autograd (kiln/autograd.hpp) and
// differentiable ops (kiln/ops.hpp); layers build on ops, models on layers.
#pragma once

#include "kiln/autograd.hpp"
#include "kiln/callbacks.hpp"
#include "kiln/callbacks/csv_logger.hpp"
#include "kiln/callbacks/early_stopping.hpp"
#include "kiln/callbacks/learning_rate.hpp"
#include "kiln/callbacks/model_checkpoint.hpp"
#include "kiln/data/csv.hpp"
#include "kiln/data/dataset.hpp"
#include "kiln/data/image_dataset.hpp"
#include "kiln/data/images.hpp"
#include "kiln/data/pipeline.hpp"
#include "kiln/datasets.hpp"
#include "kiln/error.hpp"
#include "kiln/initializers.hpp"
#include "kiln/io/files.hpp"
#include "kiln/io/image_grid.hpp"
#include "kiln/io/npy.hpp"
#include "kiln/io/plot.hpp"
#include "kiln/io/png.hpp"
#include "kiln/io/safetensors.hpp"
#include "kiln/layers/activation.hpp"
#include "kiln/layers/activation_layers.hpp"
#include "kiln/layers/activity_regularization.hpp"
#include "kiln/layers/attention.hpp"
#include "kiln/layers/batch_normalization.hpp"
#include "kiln/layers/bidirectional.hpp"
#include "kiln/layers/conv1d.hpp"
#include "kiln/layers/conv2d.hpp"
#include "kiln/layers/conv2d_transpose.hpp"
#include "kiln/layers/cropping.hpp"
#include "kiln/layers/dense.hpp"
#include "kiln/layers/dense_attention.hpp"
#include "kiln/layers/depthwise_conv2d.hpp"
#include "kiln/layers/dropout.hpp"
#include "kiln/layers/embedding.hpp"
#include "kiln/layers/gaussian_noise.hpp"
#include "kiln/layers/global_pooling.hpp"
#include "kiln/layers/group_normalization.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/layers/leaky_relu.hpp"
#include "kiln/layers/margins.hpp"
#include "kiln/layers/merging.hpp"
#include "kiln/layers/normalization.hpp"
#include "kiln/layers/permute.hpp"
#include "kiln/layers/pooling.hpp"
#include "kiln/layers/pooling1d.hpp"
#include "kiln/layers/preprocessing/image_preprocessing.hpp"
#include "kiln/layers/preprocessing/normalization.hpp"
#include "kiln/layers/preprocessing/random_affine.hpp"
#include "kiln/layers/preprocessing/random_color.hpp"
#include "kiln/layers/preprocessing/random_flip.hpp"
#include "kiln/layers/preprocessing/resizing.hpp"
#include "kiln/layers/recurrent.hpp"
#include "kiln/layers/repeat_vector.hpp"
#include "kiln/layers/rescaling.hpp"
#include "kiln/layers/reshaping.hpp"
#include "kiln/layers/separable_conv2d.hpp"
#include "kiln/layers/spatial_dropout.hpp"
#include "kiln/layers/time_distributed.hpp"
#include "kiln/layers/transformer.hpp"
#include "kiln/layers/unit_normalization.hpp"
#include "kiln/layers/upsampling1d.hpp"
#include "kiln/layers/upsampling2d.hpp"
#include "kiln/layers/weight_budget.hpp"
#include "kiln/layers/zero_padding.hpp"
#include "kiln/losses.hpp"
#include "kiln/metrics.hpp"
#include "kiln/mixed_precision.hpp"
#include "kiln/metrics/classification.hpp"
#include "kiln/metrics/ranking.hpp"
#include "kiln/model.hpp"
#include "kiln/model_config.hpp"
#include "kiln/model_json.hpp"
#include "kiln/onnx.hpp"
#include "kiln/ops.hpp"
#include "kiln/ops/flip.hpp"
#include "kiln/ops/grouped_conv.hpp"
#include "kiln/ops/image_transform.hpp"
#include "kiln/optimizers.hpp"
#include "kiln/random.hpp"
#include "kiln/report.hpp"
#include "kiln/saving.hpp"
#include "kiln/sequential.hpp"
#include "kiln/symbolic.hpp"
#include "kiln/tensor.hpp"
#include "kiln/threading.hpp"
#include "kiln/training_state.hpp"
#include "kiln/utils.hpp"
#include "kiln/version.hpp"
#include "kiln/zoo.hpp"
