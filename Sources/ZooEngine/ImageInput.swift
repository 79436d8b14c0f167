import CImage
import Foundation

/// PNG and JPEG inputs with torchvision's standard ImageNet preprocessing:
/// `Resize(256)` (shorter side to 256, the other `int(256 · long / short)`, bilinear with PIL's
/// antialiasing triangle filter), `CenterCrop(224)` (offsets `round((n − 224) / 2)`), `ToTensor`
/// (`/ 255`) and `Normalize(mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225])`.
/// For a model whose input is not 224, the crop is its input size and the resize `crop · 256 / 224`.
/// A one-channel model gets the luminance `0.299 R + 0.587 G + 0.114 B` in `[0, 1]`, not normalised.
public enum ImageInput {
  public static let mean: [Float] = [0.485, 0.456, 0.406]
  public static let std: [Float] = [0.229, 0.224, 0.225]

  /// An 8-bit RGB image, row-major, 3 bytes per pixel.
  public struct RGB {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]
  }

  /// Decodes a PNG or JPEG file (recognised by its signature, not its name).
  public static func decode(_ path: String) throws -> RGB {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw EngineError("cannot read the image `\(path)`: \(error.localizedDescription)")
    }
    let bytes = [UInt8](data)
    let isPNG = bytes.starts(with: [0x89, 0x50, 0x4E, 0x47])
    let isJPEG = bytes.starts(with: [0xFF, 0xD8])
    guard isPNG || isJPEG else {
      throw EngineError("`\(path)` is neither a PNG nor a JPEG image (nor a .npy array)")
    }
    var out: UnsafeMutablePointer<UInt8>? = nil
    var w: Int32 = 0
    var h: Int32 = 0
    var message = [CChar](repeating: 0, count: 256)
    let ok = bytes.withUnsafeBufferPointer { b in
      message.withUnsafeMutableBufferPointer { m in
        isPNG
          ? zoo_decode_png(b.baseAddress, UInt(b.count), &out, &w, &h, m.baseAddress, 256)
          : zoo_decode_jpeg(b.baseAddress, UInt(b.count), &out, &w, &h, m.baseAddress, 256)
      }
    }
    guard ok != 0, let out else {
      let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
      throw EngineError("cannot decode the \(isPNG ? "PNG" : "JPEG") image `\(path)`: \(text)")
    }
    defer { free(out) }
    let count = Int(w) * Int(h) * 3
    return RGB(width: Int(w), height: Int(h), pixels: Array(UnsafeBufferPointer(start: out, count: count)))
  }

  /// Decodes and preprocesses `path` to `[1, channels, height, width]`.
  public static func load(_ path: String, channels: Int, height: Int, width: Int) throws -> Tensor {
    let image = try decode(path)
    let crop = (height, width)
    let resize = min(crop.0, crop.1) * 256 / 224
    let (rh, rw): (Int, Int) =
      image.width <= image.height
      ? (Int(Double(resize) * Double(image.height) / Double(image.width)), resize)
      : (resize, Int(Double(resize) * Double(image.width) / Double(image.height)))
    let resized = resample(image, toWidth: rw, height: rh)
    let top = Int((Double(rh - crop.0) / 2).rounded())
    let left = Int((Double(rw - crop.1) / 2).rounded())
    var out = [Float](repeating: 0, count: channels * height * width)
    for y in 0..<height {
      for x in 0..<width {
        let sy = y + top
        let sx = x + left
        guard sy >= 0, sy < rh, sx >= 0, sx < rw else { continue }
        let p = (sy * rw + sx) * 3
        if channels == 3 {
          for c in 0..<3 {
            out[(c * height + y) * width + x] = (resized[p + c] / 255 - mean[c]) / std[c]
          }
        } else {
          let l = (0.299 * resized[p] + 0.587 * resized[p + 1] + 0.114 * resized[p + 2]) / 255
          for c in 0..<channels { out[(c * height + y) * width + x] = l }
        }
      }
    }
    return Tensor(shape: [1, channels, height, width], data: out)
  }

  /// Separable bilinear resampling with PIL's antialiasing: a triangle filter stretched by the
  /// scale when shrinking; output values stay in `0...255` as floats.
  static func resample(_ image: RGB, toWidth w: Int, height h: Int) -> [Float] {
    func weights(_ inSize: Int, _ outSize: Int) -> [(start: Int, w: [Float])] {
      let scale = Double(inSize) / Double(outSize)
      let support = max(scale, 1)
      return (0..<outSize).map { i in
        let center = (Double(i) + 0.5) * scale
        let lo = max(0, Int((center - support).rounded(.down)))
        let hi = min(inSize, Int((center + support).rounded(.up)))
        var ws: [Double] = []
        for j in lo..<hi {
          ws.append(max(0, 1 - abs((Double(j) + 0.5 - center) / support)))
        }
        let total = ws.reduce(0, +)
        return (lo, ws.map { Float($0 / max(total, 1e-12)) })
      }
    }
    let wx = weights(image.width, w)
    let wy = weights(image.height, h)
    // Horizontal pass: [image.height, w, 3].
    var tmp = [Float](repeating: 0, count: image.height * w * 3)
    for y in 0..<image.height {
      for x in 0..<w {
        let (start, ws) = wx[x]
        for c in 0..<3 {
          var s: Float = 0
          for (k, wt) in ws.enumerated() { s += wt * Float(image.pixels[(y * image.width + start + k) * 3 + c]) }
          tmp[(y * w + x) * 3 + c] = s
        }
      }
    }
    var out = [Float](repeating: 0, count: h * w * 3)
    for y in 0..<h {
      let (start, ws) = wy[y]
      for x in 0..<w {
        for c in 0..<3 {
          var s: Float = 0
          for (k, wt) in ws.enumerated() { s += wt * tmp[((start + k) * w + x) * 3 + c] }
          out[(y * w + x) * 3 + c] = min(255, max(0, s))
        }
      }
    }
    return out
  }
}
