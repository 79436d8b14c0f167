// libpng (pkg-config `libpng`) and libjpeg-turbo (`libjpeg`) for reading PNG and JPEG images.
//
// Two decoders into 8-bit RGB, written in C because libjpeg reports errors by longjmp, which
// Swift cannot catch: on failure they return 0 and leave a message in `error`.
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

struct zoo_jpeg_error {
  struct jpeg_error_mgr manager;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

static void zoo_jpeg_error_exit(j_common_ptr info) {
  struct zoo_jpeg_error *e = (struct zoo_jpeg_error *)info->err;
  (*info->err->format_message)(info, e->message);
  longjmp(e->jump, 1);
}

static void zoo_jpeg_silence(j_common_ptr info, int level) { (void)info; (void)level; }

/// Decodes a JPEG held in memory to RGB; `*pixels` is malloc'ed (free it with `free`).
static inline int zoo_decode_jpeg(const unsigned char *data, unsigned long size, unsigned char **pixels,
                                  int *width, int *height, char *error, size_t error_size) {
  struct jpeg_decompress_struct info;
  struct zoo_jpeg_error err;
  unsigned char *volatile out = NULL;
  info.err = jpeg_std_error(&err.manager);
  err.manager.error_exit = zoo_jpeg_error_exit;
  err.manager.emit_message = zoo_jpeg_silence;
  if (setjmp(err.jump)) {
    snprintf(error, error_size, "%s", err.message);
    jpeg_destroy_decompress(&info);
    free(out);
    return 0;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, data, size);
  jpeg_read_header(&info, TRUE);
  info.out_color_space = JCS_RGB;
  jpeg_start_decompress(&info);
  size_t stride = (size_t)info.output_width * 3;
  out = (unsigned char *)malloc(stride * info.output_height);
  if (!out) {
    snprintf(error, error_size, "out of memory");
    jpeg_destroy_decompress(&info);
    return 0;
  }
  while (info.output_scanline < info.output_height) {
    unsigned char *row = out + stride * info.output_scanline;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  *width = (int)info.output_width;
  *height = (int)info.output_height;
  jpeg_destroy_decompress(&info);
  *pixels = out;
  return 1;
}

/// Decodes a PNG held in memory to RGB (alpha dropped, palettes and grey expanded) with libpng's
/// simplified API; `*pixels` is malloc'ed.
static inline int zoo_decode_png(const unsigned char *data, unsigned long size, unsigned char **pixels,
                                 int *width, int *height, char *error, size_t error_size) {
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, data, size)) {
    snprintf(error, error_size, "%s", image.message);
    return 0;
  }
  image.format = PNG_FORMAT_RGB;
  unsigned char *out = (unsigned char *)malloc(PNG_IMAGE_SIZE(image));
  if (!out) {
    png_image_free(&image);
    snprintf(error, error_size, "out of memory");
    return 0;
  }
  if (!png_image_finish_read(&image, NULL, out, 0, NULL)) {
    snprintf(error, error_size, "%s", image.message);
    free(out);
    return 0;
  }
  *width = (int)image.width;
  *height = (int)image.height;
  *pixels = out;
  return 1;
}
