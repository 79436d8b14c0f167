import CImage
import Foundation
import ZooFiles
import ZooGraph

/// PNG and JPEG inputs with torchvision's standard ImageNet preprocessing:
/// `Resize(256)` (shorter side to 256, the other `int(256 · long / short)`, bilinear with PIL's
/// antialiasing triangle filter), `CenterCrop(224)` (offsets `round((n − 224) / 2)`), `ToTensor`
/// (`/ 255`) and `Normalize(mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225])`.
/// For a model whose input is not 224, the crop is its input size and the resize `crop · 256 / 224`.
/// Images larger than a pixel budget (``defaultMaxPixels``) are refused from their header, before decoding.
/// A one-channel model gets the luminance `0.299 R + 0.587 G + 0.114 B` in `[0, 1]`, not normalised.
public enum ImageInput {
  public static let mean: [Float] = [0.485, 0.456, 0.406]
  public static let std: [Float] = [0.229, 0.224, 0.225]

  /// An 8-bit RGB image, row-major, 3 bytes per pixel.
  public struct RGB {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
      precondition(
        pixels.count == width * height * 3, "an RGB image of \(width) × \(height) holds \(width * height * 3) bytes")
      self.width = width
      self.height = height
      self.pixels = pixels
    }
  }

  /// The default largest image accepted, in pixels: 8192 × 8192 (64 Mi). Its decoded RGB takes 192 MiB;
  /// `zoo run --max-pixels` raises it.
  public static let defaultMaxPixels = 8192 * 8192

  /// Decodes a PNG or JPEG file (recognised by its signature, not its name) of at most `maxPixels` pixels.
  public static func decode(_ path: String, maxPixels: Int = defaultMaxPixels) throws -> RGB {
    let bytes: [UInt8]
    do {
      // 8 bytes a pixel (uncompressed 16-bit RGBA) and 16 MiB of other chunks bound any PNG or JPEG within the budget.
      let (bound, o) = max(0, maxPixels).multipliedReportingOverflow(by: 8)
      bytes = try Files.read(
        path, what: "the image", maxBytes: o ? .max : bound &+ (16 << 20),
        why:
          "that an image within the limit of \(grouped(UInt64(max(0, maxPixels)))) pixels can take (`zoo run --max-pixels N` raises it)"
      )
    } catch {
      throw EngineError(error.description)
    }
    return try decode(bytes, name: path, maxPixels: maxPixels)
  }

  /// Decodes a PNG or JPEG held in memory; `name` stands for the file in errors. The image's size is
  /// read from its header and checked against `maxPixels` before anything is decoded.
  public static func decode(_ bytes: [UInt8], name path: String, maxPixels: Int = defaultMaxPixels) throws -> RGB {
    let isPNG = bytes.starts(with: [0x89, 0x50, 0x4E, 0x47])
    let isJPEG = bytes.starts(with: [0xFF, 0xD8])
    guard isPNG || isJPEG else {
      throw EngineError("`\(path)` is neither a PNG nor a JPEG image (nor a .npy array)")
    }
    let kind = isPNG ? "PNG" : "JPEG"
    var w: Int32 = 0
    var h: Int32 = 0
    var message = [CChar](repeating: 0, count: 256)
    let limit = UInt64(max(0, maxPixels))
    func decode(into pixels: UnsafeMutablePointer<UInt8>?) -> Int32 {
      bytes.withUnsafeBufferPointer { b in
        message.withUnsafeMutableBufferPointer { m in
          isPNG
            ? zoo_decode_png(b.baseAddress, UInt(b.count), pixels, &w, &h, limit, m.baseAddress, 256)
            : zoo_decode_jpeg(b.baseAddress, UInt(b.count), pixels, &w, &h, limit, m.baseAddress, 256)
        }
      }
    }
    func failure() -> EngineError {
      let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
      return EngineError("cannot decode the \(kind) image `\(path)`: \(text)")
    }
    // First the size from the header, checked against the budget; then the pixels, straight into the array.
    let status = decode(into: nil)
    if status == 2 {
      let pixels = UInt64(UInt32(bitPattern: w)) * UInt64(UInt32(bitPattern: h))
      throw EngineError(
        "the \(kind) image `\(path)` is \(UInt32(bitPattern: w)) × \(UInt32(bitPattern: h)) = \(grouped(pixels)) pixels, "
          + "more than the limit of \(grouped(limit)); nothing was decoded (`zoo run --max-pixels N` raises the limit)")
    }
    guard status == 1 else { throw failure() }
    let count = Int(w) * Int(h) * 3
    var ok: Int32 = 0
    let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialised in
      ok = decode(into: buffer.baseAddress)
      initialised = ok == 1 ? count : 0
    }
    guard ok == 1 else { throw failure() }
    return RGB(width: Int(w), height: Int(h), pixels: pixels)
  }

  /// `1234567` → `1,234,567`.
  static func grouped(_ n: UInt64) -> String {
    let digits = Array(String(n))
    var out = ""
    for (i, c) in digits.enumerated() {
      if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
      out.append(c)
    }
    return out
  }

  /// Decodes and preprocesses `path` to `[1, channels, height, width]`; the image may have at most
  /// `maxPixels` pixels.
  public static func load(
    _ path: String, channels: Int, height: Int, width: Int, maxPixels: Int = defaultMaxPixels
  ) throws -> Tensor {
    preprocess(try decode(path, maxPixels: maxPixels), channels: channels, height: height, width: width)
  }

  /// torchvision's preprocessing of a decoded image to `[1, channels, height, width]`.
  ///
  /// Only the pixels of the resized image that the centre crop keeps are computed, so the memory is
  /// bounded by the crop (and the input rows it reads), whatever the aspect ratio: a 3000 × 1 image
  /// resized to 768000 × 256 never materialises that image. Crop pixels outside the resized image (a crop
  /// larger than it, as with non-square inputs) are zeros before normalisation, as `CenterCrop` pads.
  public static func preprocess(_ image: RGB, channels: Int, height: Int, width: Int) -> Tensor {
    let crop = (height, width)
    let resize = min(crop.0, crop.1) * 256 / 224
    let (rh, rw): (Int, Int) =
      image.width <= image.height
      ? (Int(Double(resize) * Double(image.height) / Double(image.width)), resize)
      : (resize, Int(Double(resize) * Double(image.width) / Double(image.height)))
    let top = Int((Double(rh - crop.0) / 2).rounded())
    let left = Int((Double(rw - crop.1) / 2).rounded())
    let rows = max(0, top)..<min(rh, top + crop.0)
    let cols = max(0, left)..<min(rw, left + crop.1)
    let region = resample(image, toWidth: rw, height: rh, rows: rows, columns: cols)
    var out = [Float](repeating: 0, count: channels * height * width)
    for y in 0..<height {
      for x in 0..<width {
        let sy = y + top
        let sx = x + left
        var rgb: (Float, Float, Float) = (0, 0, 0)
        if rows.contains(sy) && cols.contains(sx) {
          let p = ((sy - rows.lowerBound) * cols.count + (sx - cols.lowerBound)) * 3
          rgb = (region[p], region[p + 1], region[p + 2])
        }
        if channels == 3 {
          out[(0 * height + y) * width + x] = (rgb.0 / 255 - mean[0]) / std[0]
          out[(1 * height + y) * width + x] = (rgb.1 / 255 - mean[1]) / std[1]
          out[(2 * height + y) * width + x] = (rgb.2 / 255 - mean[2]) / std[2]
        } else {
          let l = (0.299 * rgb.0 + 0.587 * rgb.1 + 0.114 * rgb.2) / 255
          for c in 0..<channels { out[(c * height + y) * width + x] = l }
        }
      }
    }
    return Tensor(shape: [1, channels, height, width], data: out)
  }

  /// Separable bilinear resampling with PIL's antialiasing: a triangle filter stretched by the
  /// scale when shrinking; output values stay in `0...255` as floats.
  public static func resample(_ image: RGB, toWidth w: Int, height h: Int) -> [Float] {
    resample(image, toWidth: w, height: h, rows: 0..<h, columns: 0..<w)
  }

  /// The rows `rows` and columns `columns` of the image resampled to `w × h` (see
  /// ``resample(_:toWidth:height:)``), as `[rows.count, columns.count, 3]`: the same values as cutting
  /// them out of the whole resampled image, computed without it.
  public static func resample(_ image: RGB, toWidth w: Int, height h: Int, rows: Range<Int>, columns: Range<Int>)
    -> [Float]
  {
    func weights(_ inSize: Int, _ outSize: Int, _ range: Range<Int>) -> [(start: Int, w: [Float])] {
      let scale = Double(inSize) / Double(outSize)
      let support = max(scale, 1)
      return range.map { i in
        let center = (Double(i) + 0.5) * scale
        let lo = max(0, Int((center - support).rounded(.down)))
        let hi = max(lo, min(inSize, Int((center + support).rounded(.up))))
        var ws: [Double] = []
        for j in lo..<hi {
          ws.append(max(0, 1 - abs((Double(j) + 0.5 - center) / support)))
        }
        let total = ws.reduce(0, +)
        return (lo, ws.map { Float($0 / max(total, 1e-12)) })
      }
    }
    let wx = weights(image.width, w, columns)
    let wy = weights(image.height, h, rows)
    let cw = columns.count
    // The input rows the vertical pass reads.
    let first = wy.map(\.start).min() ?? 0
    let last = wy.map { $0.start + $0.w.count }.max() ?? 0
    // Horizontal pass over those rows: [last − first, cw, 3].
    var tmp = [Float](repeating: 0, count: max(0, last - first) * cw * 3)
    for y in first..<max(first, last) {
      for x in 0..<cw {
        let (start, ws) = wx[x]
        for c in 0..<3 {
          var s: Float = 0
          for (k, wt) in ws.enumerated() { s += wt * Float(image.pixels[(y * image.width + start + k) * 3 + c]) }
          tmp[((y - first) * cw + x) * 3 + c] = s
        }
      }
    }
    var out = [Float](repeating: 0, count: rows.count * cw * 3)
    for y in 0..<rows.count {
      let (start, ws) = wy[y]
      for x in 0..<cw {
        for c in 0..<3 {
          var s: Float = 0
          for (k, wt) in ws.enumerated() { s += wt * tmp[((start - first + k) * cw + x) * 3 + c] }
          out[(y * cw + x) * 3 + c] = min(255, max(0, s))
        }
      }
    }
    return out
  }
}
