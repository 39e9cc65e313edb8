// The article's hands-on project, line for line: a CNN that classifies CIFAR-10.
//
//   ./build/examples/cifar10_cnn [DATA_DIR]
//
// The Keras original, for comparison:
//   (train_images, train_labels), (test_images, test_labels) = datasets.cifar10.load_data()
//   train_images, test_images = train_images / 255.0, test_images / 255.0
//   model = models.Sequential()
//   model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(32, 32, 3)))
//   model.add(layers.MaxPooling2D((2, 2)))
//   model.add(layers.Conv2D(64, (3, 3), activation='relu'))
//   model.add(layers.MaxPooling2D((2, 2)))
//   model.add(layers.Conv2D(64, (3, 3), activation='relu'))
//   model.add(layers.Flatten())
//   model.add(layers.Dense(64, activation='relu'))
//   model.add(layers.Dense(10, activation='softmax'))
//   model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
//   model.fit(train_images, train_labels, epochs=10, batch_size=64,
//             validation_data=(test_images, test_labels))
//   test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=2)
//   print('Test accuracy:', test_acc)
#include <cstdio>
#include <iostream>

#include "kiln/kiln.hpp"

using namespace kiln::layers;

int main(int argc, char** argv) try {
  kiln::datasets::LoadOptions where;
  if (argc > 1) where.data_dir = argv[1];
  auto [train, test] = kiln::datasets::cifar10::load_data(where);
  // "/ 255.0": applied to each batch as it is drawn, so the images stay uint8 in memory.
  auto train_images = kiln::data::Dataset(train.images, train.labels).rescale(1.0 / 255);
  auto test_images = kiln::data::Dataset(test.images, test.labels).rescale(1.0 / 255);

  kiln::Sequential model;
  model.add(Conv2D(32, {3, 3}, "relu", {32, 32, 3}));
  model.add(MaxPooling2D({2, 2}));
  model.add(Conv2D(64, {3, 3}, "relu"));
  model.add(MaxPooling2D({2, 2}));
  model.add(Conv2D(64, {3, 3}, "relu"));
  model.add(Flatten());
  model.add(Dense(64, "relu"));
  model.add(Dense(10, "softmax"));
  model.summary();

  model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  model.fit(train_images, {.epochs = 10, .batch_size = 64, .validation_data = test_images});

  auto result = model.evaluate(test_images, {.verbose = 2});
  std::printf("Test accuracy: %.4f\n", result["accuracy"]);
  return 0;
} catch (const kiln::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
