// libpng (pkg-config `libpng`) and libjpeg-turbo (`libjpeg`) for reading PNG and JPEG images.
//
// Two decoders into 8-bit RGB, written in C because libpng and libjpeg report errors by longjmp,
// which Swift cannot catch: on failure they return 0 and leave a message in `error`.
//
// Both are called twice: first with no buffer, to read the image size from the header (they return 2,
// with `*width` and `*height` set and nothing decoded, when `width × height` exceeds `max_pixels`, so
// that a small file claiming a huge image never allocates it), then with the caller's buffer of that
// size, which they decode into (so the pixels are held once, in the caller's array). The conversion to RGB is PIL's `convert('RGB')`, which torchvision's
// preprocessing uses: alpha (an alpha channel, or a palette's or grey level's tRNS transparency) is
// dropped, not blended; palettes and grey levels are expanded; 16-bit samples keep their high byte.
// A file that ends before its image does is an error, not an image padded with grey.
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

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

/// Warnings are silent, except those that say the data ran out (a truncated or cut file): libjpeg
/// would fill the rest of the image with grey, so they are errors here.
static void zoo_jpeg_message(j_common_ptr info, int level) {
  if (level == -1 && (info->err->msg_code == JWRN_JPEG_EOF || info->err->msg_code == JWRN_HIT_MARKER)) {
    struct zoo_jpeg_error *e = (struct zoo_jpeg_error *)info->err;
    char text[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, text);
    snprintf(e->message, sizeof e->message, "the data ends before the image does (truncated): %s", text);
    longjmp(e->jump, 1);
  }
}

/// Decodes a JPEG held in memory to RGB into `pixels`, which holds `*width × *height × 3` bytes for the
/// size the header gives; with `pixels` NULL it only reads that size. Returns 1 on success, 2 when the
/// image has more than `max_pixels` pixels, 0 on an error.
static inline int zoo_decode_jpeg(const unsigned char *data, unsigned long size, unsigned char *pixels,
                                  int *width, int *height, unsigned long long max_pixels, char *error,
                                  size_t error_size) {
  struct jpeg_decompress_struct info;
  struct zoo_jpeg_error err;
  unsigned char *out = pixels;
  int expected_width = *width, expected_height = *height;
  info.err = jpeg_std_error(&err.manager);
  err.manager.error_exit = zoo_jpeg_error_exit;
  err.manager.emit_message = zoo_jpeg_message;
  err.message[0] = 0;
  if (setjmp(err.jump)) {
    snprintf(error, error_size, "%s", err.message);
    jpeg_destroy_decompress(&info);
    return 0;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, data, size);
  jpeg_read_header(&info, TRUE);
  *width = (int)info.image_width;
  *height = (int)info.image_height;
  if ((unsigned long long)info.image_width * info.image_height > max_pixels) {
    jpeg_destroy_decompress(&info);
    return 2;
  }
  if (!out) {
    jpeg_destroy_decompress(&info);
    return 1;
  }
  info.out_color_space = JCS_RGB;
  jpeg_start_decompress(&info);
  if (info.output_components != 3) {
    snprintf(error, error_size, "it decodes to %d channels, not RGB", info.output_components);
    jpeg_destroy_decompress(&info);
    return 0;
  }
  if ((int)info.output_width != expected_width || (int)info.output_height != expected_height) {
    snprintf(error, error_size, "it decodes to %u × %u pixels, not the %d × %d of its header", info.output_width,
             info.output_height, expected_width, expected_height);
    jpeg_destroy_decompress(&info);
    return 0;
  }
  size_t stride = (size_t)info.output_width * 3;
  while (info.output_scanline < info.output_height) {
    unsigned char *row = out + stride * info.output_scanline;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  *width = (int)info.output_width;
  *height = (int)info.output_height;
  jpeg_destroy_decompress(&info);
  return 1;
}

struct zoo_png_state {
  const unsigned char *data;
  size_t size;
  size_t position;
  char message[256];
};

static void zoo_png_read(png_structp png, png_bytep out, size_t count) {
  struct zoo_png_state *s = (struct zoo_png_state *)png_get_io_ptr(png);
  if (count > s->size - s->position) {
    png_error(png, "the file ends before the image does (truncated)");
  }
  memcpy(out, s->data + s->position, count);
  s->position += count;
}

static void zoo_png_error(png_structp png, png_const_charp message) {
  struct zoo_png_state *s = (struct zoo_png_state *)png_get_error_ptr(png);
  snprintf(s->message, sizeof s->message, "%s", message);
  png_longjmp(png, 1);
}

static void zoo_png_warning(png_structp png, png_const_charp message) {
  (void)png;
  (void)message;
}

/// Decodes a PNG held in memory to RGB as PIL's `convert('RGB')` does (see the top of this file) into
/// `pixels`, which holds `*width × *height × 3` bytes for the size the header gives; with `pixels` NULL
/// it only reads that size. Returns 1 on success, 2 when the image has more than `max_pixels` pixels,
/// 0 on an error.
static inline int zoo_decode_png(const unsigned char *data, unsigned long size, unsigned char *pixels,
                                 int *width, int *height, unsigned long long max_pixels, char *error,
                                 size_t error_size) {
  struct zoo_png_state state;
  memset(&state, 0, sizeof state);
  state.data = data;
  state.size = size;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, zoo_png_error, zoo_png_warning);
  if (!png) {
    snprintf(error, error_size, "cannot start libpng");
    return 0;
  }
  png_infop info = png_create_info_struct(png);
  unsigned char *out = pixels;
  int expected_width = *width, expected_height = *height;
  png_bytep *volatile rows = NULL;
  if (!info || setjmp(png_jmpbuf(png))) {
    snprintf(error, error_size, "%s", info ? state.message : "cannot start libpng");
    png_destroy_read_struct(&png, info ? &info : NULL, NULL);
    free(rows);
    return 0;
  }
  png_set_read_fn(png, &state, zoo_png_read);
  // The pixel budget below governs the size, not libpng's default limit of a million pixels a side.
  png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info);
  png_uint_32 h = png_get_image_height(png, info);
  *width = (int)w;
  *height = (int)h;
  if ((unsigned long long)w * h > max_pixels) {
    png_destroy_read_struct(&png, &info, NULL);
    return 2;
  }
  if (!out) {
    png_destroy_read_struct(&png, &info, NULL);
    return 1;
  }
  if ((int)w != expected_width || (int)h != expected_height) {
    snprintf(state.message, sizeof state.message, "its header changed between two reads");
    png_longjmp(png, 1);
  }
  int depth = png_get_bit_depth(png, info);
  int type = png_get_color_type(png, info);
  if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (depth == 16) png_set_strip_16(png);
  png_set_strip_alpha(png);
  if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  size_t stride = (size_t)w * 3;
  if (png_get_rowbytes(png, info) != stride || png_get_channels(png, info) != 3) {
    snprintf(state.message, sizeof state.message, "it does not convert to 8-bit RGB (%d channels)",
             png_get_channels(png, info));
    png_longjmp(png, 1);
  }
  rows = (png_bytep *)malloc(sizeof(png_bytep) * h);
  if (!rows) {
    snprintf(state.message, sizeof state.message, "out of memory for %u × %u pixels", w, h);
    png_longjmp(png, 1);
  }
  for (png_uint_32 y = 0; y < h; y++) rows[y] = out + stride * y;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  png_destroy_read_struct(&png, &info, NULL);
  free(rows);
  return 1;
}
