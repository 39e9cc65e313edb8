// resize_image: one image through the core library's resize_images (kiln/ops/image_transform.hpp),
// tf.image.resize's sampling, which image_dataset_from_directory and Keras's Resizing layer share.
#include "kiln/data/images.hpp"
#include "kiln/error.hpp"
#include "kiln/ops/image_transform.hpp"

namespace kiln::data {

Tensor resize_image(const Tensor& image, std::int64_t height, std::int64_t width, const std::string& interpolation,
                    bool crop_to_aspect_ratio) {
  if (image.ndim() != 3)
    throw Error("resize_image: expected an image [height, width, channels], got shape " + shape_str(image.shape()));
  if (height < 1 || width < 1) {
    throw Error("resize_image: the size must be at least 1x1, got " + std::to_string(height) + "x" +
                std::to_string(width));
  }
  if (interpolation != "bilinear" && interpolation != "nearest") {
    throw Error("resize_image: interpolation must be \"bilinear\" or \"nearest\", got \"" + interpolation + "\"");
  }
  const std::int64_t h = image.size(0), w = image.size(1), c = image.size(2);
  if (h < 1 || w < 1) throw Error("resize_image: the image is empty (shape " + shape_str(image.shape()) + ")");
  const Tensor batch = image.to(DType::Float32).contiguous().reshape({1, h, w, c});
  return resize_images(batch, height, width, interpolation, crop_to_aspect_ratio).reshape({height, width, c});
}

}  // namespace kiln::data
