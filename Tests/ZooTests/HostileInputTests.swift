import Foundation
import Testing
import ZooEngine
import ZooFiles
import ZooGraph

// Hostile inputs: files built at test time in a temporary folder that each test removes. Every one must
// end in one error that names the file and the key or value at fault (or, for the PNG conversions, in
// PIL's exact pixels), never in a trap, a runaway allocation or a silent wrong answer.

/// A temporary folder, removed by `body`'s end.
func withScratchFolder<T>(_ body: (URL) throws -> T) throws -> T {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-hostile-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: dir) }
  return try body(dir)
}

/// The message of the error `body` throws, or "no error".
func errorMessage(_ body: () throws -> Void) -> String {
  do {
    try body()
    return "no error"
  } catch { return "\(error)" }
}

// MARK: Builders

/// A safetensors file: the 8-byte length, `header` as given (any bytes), then `data`.
func safetensorsBytes(header: [UInt8], data: [UInt8] = [], claimedLength: UInt64? = nil) -> [UInt8] {
  let n = claimedLength ?? UInt64(header.count)
  return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + header + data
}

func safetensorsBytes(_ header: String, data: [UInt8] = []) -> [UInt8] {
  safetensorsBytes(header: Array(header.utf8), data: data)
}

/// A version 1.0 `.npy` file whose header dict is `dict`, followed by `data`.
func npyBytes(_ dict: String, data: [UInt8] = []) -> [UInt8] {
  var header = dict
  while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
  header += "\n"
  let n = header.utf8.count
  return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(n & 0xFF), UInt8(n >> 8)] + Array(header.utf8) + data
}

/// CRC-32 (ISO-HDLC), as PNG chunks use it.
func crc32(_ bytes: [UInt8]) -> UInt32 {
  var c: UInt32 = 0xFFFF_FFFF
  for b in bytes {
    c ^= UInt32(b)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
  }
  return ~c
}

func bigEndian32(_ v: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }

/// A zlib stream of stored (uncompressed) deflate blocks.
func zlibStored(_ data: [UInt8]) -> [UInt8] {
  var out: [UInt8] = [0x78, 0x01]
  var i = 0
  repeat {
    let n = min(65535, data.count - i)
    let final: UInt8 = i + n == data.count ? 1 : 0
    out += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
    out += data[i..<i + n]
    i += n
  } while i < data.count
  var (a, b): (UInt32, UInt32) = (1, 0)
  for x in data {
    a = (a + UInt32(x)) % 65521
    b = (b + a) % 65521
  }
  return out + bigEndian32(b << 16 | a)
}

/// A PNG of `width × height` with the given bit depth and colour type; `rows` are the raw scanlines
/// (without filter bytes; filter 0 is added), `extra` chunks go before IDAT.
func pngBytes(
  width: Int, height: Int, bitDepth: UInt8 = 8, colourType: UInt8 = 2, rows: [[UInt8]], extra: [(String, [UInt8])] = []
) -> [UInt8] {
  func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let body = Array(type.utf8) + data
    return bigEndian32(UInt32(data.count)) + body + bigEndian32(crc32(body))
  }
  let ihdr = bigEndian32(UInt32(width)) + bigEndian32(UInt32(height)) + [bitDepth, colourType, 0, 0, 0]
  var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr)
  for (t, d) in extra { png += chunk(t, d) }
  return png + chunk("IDAT", zlibStored(rows.flatMap { [0] + $0 })) + chunk("IEND", [])
}

/// The fixture JPEG (a uniform 16 × 16 orange, baseline) with the size in its SOF0 header replaced.
func jpegClaiming(width: Int, height: Int) throws -> [UInt8] {
  var bytes = [UInt8](try Data(contentsOf: fixturesDir.appendingPathComponent("orange.jpg")))
  let sof = try #require((0..<bytes.count - 1).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
  bytes[sof + 5] = UInt8(height >> 8)
  bytes[sof + 6] = UInt8(height & 0xFF)
  bytes[sof + 7] = UInt8(width >> 8)
  bytes[sof + 8] = UInt8(width & 0xFF)
  return bytes
}

// MARK: Cases

/// One hostile file: what it is, how to read it, and what the error must say (besides the file's path).
struct HostileFile: Sendable, CustomTestStringConvertible {
  enum Reader: Sendable { case safetensors, npy, image }
  var name: String
  var reader: Reader
  var bytes: @Sendable () throws -> [UInt8]
  var expected: [String]
  var testDescription: String { name }
}

let f32x2 = floatBytes([1, 2])

let hostileFiles: [HostileFile] = [
  // safetensors
  HostileFile(
    name: "safetensors shape whose byte size overflows", reader: .safetensors,
    bytes: { safetensorsBytes(#"{"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8]}}"#) },
    expected: ["tensor `w`", "4611686018427387904", "overflows 64 bits"]),
  HostileFile(
    name: "safetensors shape whose element count overflows", reader: .safetensors,
    bytes: { safetensorsBytes(#"{"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#) },
    expected: ["tensor `w`", "[4294967296, 4294967296]", "element count overflows 64 bits"]),
  HostileFile(
    name: "safetensors fractional shape", reader: .safetensors,
    bytes: { safetensorsBytes(#"{"w":{"dtype":"F32","shape":[10.5],"data_offsets":[0,8]}}"#, data: f32x2) },
    expected: ["tensor `w`", "shape entry 10.5", "not an integer"]),
  HostileFile(
    name: "safetensors negative shape", reader: .safetensors,
    bytes: { safetensorsBytes(#"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: f32x2) },
    expected: ["tensor `w`", "shape entry -2"]),
  HostileFile(
    name: "safetensors shape too large for 64 bits", reader: .safetensors,
    bytes: { safetensorsBytes(#"{"w":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]}}"#) },
    expected: ["tensor `w`", "shape entry 99999999999999999999"]),
  HostileFile(
    name: "safetensors fractional offsets", reader: .safetensors,
    bytes: { safetensorsBytes(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}}"#, data: f32x2) },
    expected: ["tensor `w`", "data offset 8.0", "not an integer"]),
  HostileFile(
    name: "safetensors negative offsets", reader: .safetensors,
    bytes: { safetensorsBytes(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}"#, data: f32x2) },
    expected: ["tensor `w`", "data offset -8"]),
  HostileFile(
    name: "safetensors offsets out of the file", reader: .safetensors,
    bytes: { safetensorsBytes(#"{"w":{"dtype":"F32","shape":[200],"data_offsets":[0,800]}}"#, data: f32x2) },
    expected: ["tensor `w`", "data_offsets [0, 800] outside the 8 data bytes"]),
  HostileFile(
    name: "safetensors offsets in reverse", reader: .safetensors,
    bytes: { safetensorsBytes(#"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, data: f32x2) },
    expected: ["tensor `w`", "data_offsets [8, 0]"]),
  HostileFile(
    name: "safetensors three offsets", reader: .safetensors,
    bytes: { safetensorsBytes(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}"#, data: f32x2) },
    expected: ["tensor `w`", "data_offsets [0, 4, 8]", "it needs two"]),
  HostileFile(
    name: "safetensors overlapping tensors", reader: .safetensors,
    bytes: {
      safetensorsBytes(
        #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
        data: floatBytes([1, 2, 3]))
    },
    expected: ["tensors `a` [0, 8] and `b` [4, 12] overlap"]),
  HostileFile(
    name: "safetensors hole between tensors", reader: .safetensors,
    bytes: {
      safetensorsBytes(
        #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
        data: floatBytes([1, 2, 3]))
    },
    expected: ["data bytes 4..<8 belong to no tensor (before `b`)"]),
  HostileFile(
    name: "safetensors trailing bytes", reader: .safetensors,
    bytes: { safetensorsBytes(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: f32x2) },
    expected: ["the tensors end at data byte 4 but the data section has 8 bytes"]),
  HostileFile(
    name: "safetensors unknown dtype", reader: .safetensors,
    bytes: { safetensorsBytes(#"{"w":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}}"#, data: f32x2) },
    expected: ["tensor `w`", "unknown dtype `F31`"]),
  HostileFile(
    name: "safetensors header longer than the file", reader: .safetensors,
    bytes: { safetensorsBytes(header: Array("{}".utf8), claimedLength: 1 << 40) },
    expected: ["the header claims 1099511627776 bytes but the file has only 2"]),
  HostileFile(
    name: "safetensors header not UTF-8", reader: .safetensors,
    bytes: { safetensorsBytes(header: Array(#"{"w"#.utf8) + [0xFF, 0xFE] + Array(#"":{}}"#.utf8)) },
    expected: ["not UTF-8 text", "header byte 3"]),
  HostileFile(
    name: "safetensors header not JSON", reader: .safetensors,
    bytes: { safetensorsBytes(#"{"w": {"dtype": "F32",}}"#) },
    expected: ["not valid JSON", "header byte"]),
  HostileFile(
    name: "safetensors duplicate keys", reader: .safetensors,
    bytes: {
      safetensorsBytes(
        #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
        data: f32x2)
    },
    expected: ["duplicate key \"w\""]),
  HostileFile(
    name: "safetensors metadata not strings", reader: .safetensors,
    bytes: {
      safetensorsBytes(
        #"{"__metadata__":{"format":7},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: f32x2)
    },
    expected: ["`__metadata__` entry `format` must be a string, not a number"]),
  HostileFile(
    name: "safetensors header nested too deep", reader: .safetensors,
    bytes: { safetensorsBytes(String(repeating: "[", count: 100_000)) },
    expected: ["nesting deeper than 64 levels"]),
  // .npy
  HostileFile(
    name: "npy shape whose element count overflows", reader: .npy,
    bytes: { npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }") },
    expected: ["(4294967296, 4294967296)", "more elements than 64 bits count"]),
  HostileFile(
    name: "npy shape whose byte size overflows", reader: .npy,
    bytes: { npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904,), }") },
    expected: ["(4611686018427387904,)", "more bytes than 64 bits count"]),
  HostileFile(
    name: "npy fractional shape", reader: .npy,
    bytes: { npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,), }", data: f32x2) },
    expected: ["entry `2.5`", "not an integer"]),
  HostileFile(
    name: "npy data shorter than the shape", reader: .npy,
    bytes: { npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data: f32x2) },
    expected: ["shape [3] needs 12 data bytes but the file has 8"]),
  // Images
  HostileFile(
    name: "PNG of 30000 × 30000", reader: .image,
    bytes: { pngBytes(width: 30000, height: 30000, rows: [[0, 0, 0]]) },
    expected: ["PNG image", "30000 × 30000 = 900,000,000 pixels", "limit of 67,108,864", "--max-pixels"]),
  HostileFile(
    name: "JPEG claiming 65500 × 65500", reader: .image,
    bytes: { try jpegClaiming(width: 65500, height: 65500) },
    expected: ["JPEG image", "65500 × 65500 = 4,290,250,000 pixels", "limit of 67,108,864"]),
  HostileFile(
    name: "truncated JPEG", reader: .image,
    bytes: { Array(try Data(contentsOf: fixturesDir.appendingPathComponent("orange.jpg")).prefix(630)) },
    expected: ["cannot decode the JPEG image", "truncated"]),
  HostileFile(
    name: "truncated PNG", reader: .image,
    bytes: {
      let png = pngBytes(width: 64, height: 64, rows: Array(repeating: Array(repeating: 7, count: 192), count: 64))
      return Array(png.prefix(png.count / 2))
    },
    expected: ["cannot decode the PNG image", "truncated"]),
  HostileFile(
    name: "PNG with a bad checksum", reader: .image,
    bytes: {
      var png = pngBytes(width: 2, height: 2, rows: [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]])
      png[png.count - 20] ^= 0xFF
      return png
    },
    expected: ["cannot decode the PNG image"]),
]

@Suite("Hostile inputs")
struct HostileInputTests {
  @Test(arguments: hostileFiles)
  func refusedWithOneClearError(_ c: HostileFile) throws {
    try withScratchFolder { dir in
      let ext = ["safetensors": "safetensors", "npy": "npy", "image": "img"]["\(c.reader)"]!
      let path = dir.appendingPathComponent("hostile.\(ext)").path
      try Data(try c.bytes()).write(to: URL(fileURLWithPath: path))
      let message = errorMessage {
        switch c.reader {
        case .safetensors: _ = try Safetensors.load(path)
        case .npy: _ = try Npy.read(path)
        case .image: _ = try ImageInput.load(path, channels: 3, height: 224, width: 224)
        }
      }
      #expect(message.contains(path), "the error names the file: \(message)")
      for e in c.expected { #expect(message.contains(e), "expected `\(e)` in: \(message)") }
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["hostile.\(ext)"])
    }
  }

  /// Reading a folder, a missing file, or writing into a missing folder or over a folder: our words,
  /// the path named, never Foundation's "The operation could not be completed".
  @Test func foldersAndMissingPathsAreSaidInOurWords() throws {
    try withScratchFolder { dir in
      let folder = dir.appendingPathComponent("folder.png").path
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
      let cases: [(String, () throws -> Void)] = [
        ("cannot read the image `\(folder)`: it is a folder, not a file", { _ = try ImageInput.decode(folder) }),
        ("cannot read the .npy array `\(folder)`: it is a folder, not a file", { _ = try Npy.read(folder) }),
        ("cannot read the weight file `\(folder)`: it is a folder", { _ = try Safetensors.load(folder) }),
        ("`\(dir.path)/none.npy`: there is no such file", { _ = try Npy.read(dir.path + "/none.npy") }),
        (
          "cannot write the .npy array `\(dir.path)/no/y.npy`: there is no folder `\(dir.path)/no`",
          { try Npy.write(Tensor(shape: [1], data: [1]), to: dir.path + "/no/y.npy") }
        ),
        (
          "cannot write the .npy array `\(folder)`: it is a folder, not a file",
          { try Npy.write(Tensor(shape: [1], data: [1]), to: folder) }
        ),
        (
          "cannot write the weight file `\(folder)`: it is a folder, not a file",
          { try Safetensors.save(["a": Tensor(shape: [1], data: [1])], to: folder) }
        ),
      ]
      for (expected, body) in cases {
        let message = errorMessage(body)
        #expect(message.contains(expected), "\(message)")
        #expect(!message.contains("operation could not be completed") && !message.contains("NSCocoaErrorDomain"))
      }
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["folder.png"], "no temporary file left")
    }
  }

  /// PIL's `convert('RGB')`, which torchvision's preprocessing uses: 16-bit samples keep their high byte
  /// (128·257 → 128, not the 186 of a linear-to-sRGB conversion), alpha and tRNS transparency are dropped,
  /// not blended. The expected pixels are PIL 13's output for the same files.
  @Test func pngConversionsMatchPIL() throws {
    func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    let samples = [32896, 0x80FF, 0x7FFF]
    let cases: [(String, [UInt8], [UInt8])] = [
      (
        "16-bit RGB",
        pngBytes(
          width: 3, height: 1, bitDepth: 16, colourType: 2, rows: [samples.flatMap { be16($0) + be16($0) + be16($0) }]),
        [128, 128, 128, 128, 128, 128, 127, 127, 127]
      ),
      (
        "16-bit RGBA with alpha 0",
        pngBytes(
          width: 3, height: 1, bitDepth: 16, colourType: 6,
          rows: [samples.flatMap { be16($0) + be16($0) + be16($0) + be16(0) }]),
        [128, 128, 128, 128, 128, 128, 127, 127, 127]
      ),
      (
        "16-bit grey + alpha",
        pngBytes(width: 3, height: 1, bitDepth: 16, colourType: 4, rows: [samples.flatMap { be16($0) + be16(100) }]),
        [128, 128, 128, 128, 128, 128, 127, 127, 127]
      ),
      (
        "8-bit RGBA", pngBytes(width: 2, height: 1, colourType: 6, rows: [[200, 100, 50, 0, 10, 20, 30, 128]]),
        [200, 100, 50, 10, 20, 30]
      ),
      (
        "8-bit grey + alpha", pngBytes(width: 2, height: 1, colourType: 4, rows: [[200, 0, 10, 128]]),
        [200, 200, 200, 10, 10, 10]
      ),
      (
        "palette with tRNS",
        pngBytes(
          width: 2, height: 1, colourType: 3, rows: [[0, 1]],
          extra: [("PLTE", [200, 100, 50, 1, 2, 3]), ("tRNS", [0, 128])]),
        [200, 100, 50, 1, 2, 3]
      ),
      (
        "grey with tRNS",
        pngBytes(width: 2, height: 1, colourType: 0, rows: [[200, 10]], extra: [("tRNS", [0, 200])]),
        [200, 200, 200, 10, 10, 10]
      ),
      (
        "2-bit grey", pngBytes(width: 4, height: 1, bitDepth: 2, colourType: 0, rows: [[0b0001_1011]]),
        [0, 0, 0, 85, 85, 85, 170, 170, 170, 255, 255, 255]
      ),
    ]
    for (name, png, expected) in cases {
      let image = try ImageInput.decode(png, name: name)
      #expect(image.pixels == expected, "\(name)")
    }
  }

  /// The crop is computed without the resized image: the same values as resizing the whole image and
  /// cutting the crop out of it, and a 3000 × 1 image (resized to 768000 × 256) gives its colour.
  @Test func centreCropWithoutTheWholeResizedImage() throws {
    var rng = SplitMix(state: 7)
    let image = ImageInput.RGB(
      width: 300, height: 7, pixels: (0..<300 * 7 * 3).map { _ in UInt8.random(in: 0...255, using: &rng) })
    let t = ImageInput.preprocess(image, channels: 3, height: 224, width: 224)
    let (rh, rw) = (256, Int(256.0 * 300 / 7))
    let full = ImageInput.resample(image, toWidth: rw, height: rh)
    let (top, left) = (16, Int((Double(rw - 224) / 2).rounded()))
    var worst: Float = 0
    for c in 0..<3 {
      for y in 0..<224 {
        for x in 0..<224 {
          let v = full[((y + top) * rw + x + left) * 3 + c]
          let expected = (v / 255 - ImageInput.mean[c]) / ImageInput.std[c]
          worst = max(worst, abs(t.data[(c * 224 + y) * 224 + x] - expected))
        }
      }
    }
    #expect(worst == 0)
    let strip = ImageInput.RGB(
      width: 3000, height: 1, pixels: Array(repeating: [200, 100, 50], count: 3000).flatMap { $0 })
    let s = ImageInput.preprocess(strip, channels: 3, height: 224, width: 224)
    for c in 0..<3 {
      let expected = ([200, 100, 50][c] / 255 - ImageInput.mean[c]) / ImageInput.std[c]
      #expect(s.data[(c * 224 * 224)..<((c + 1) * 224 * 224)].allSatisfy { abs($0 - expected) < 1e-5 })
    }
  }

  @Test func maxPixelsFlagSetsTheBudget() throws {
    let png = fixturesDir.appendingPathComponent("gradient.png").path  // 20 × 16 = 320 pixels
    let refused = try runZoo(["run", "lenet5", png, "--max-pixels", "319", "--top", "0"])
    #expect(refused.status != 0)
    #expect(refused.err.contains("`\(png)` is 20 × 16 = 320 pixels, more than the limit of 319"), "\(refused.err)")
    let accepted = try runZoo(["run", "lenet5", png, "--max-pixels", "320", "--top", "0"])
    #expect(accepted.status == 0, "\(accepted.err)")
  }

  /// `zoo run --output` naming the weights or the input (by another path or a hard link) is refused
  /// before anything is written; so are `zoo rf --chart` and `--diagram` naming one file.
  @Test func outputsNeverOverwriteInputsOrEachOther() throws {
    try withScratchFolder { dir in
      let graph = try builtin("lenet5")
      let weights = dir.appendingPathComponent("w.safetensors").path
      try Safetensors.save(SeededInit.weights(for: graph), to: weights)
      let before = try Data(contentsOf: URL(fileURLWithPath: weights))
      let link = dir.appendingPathComponent("link.npy").path
      try FileManager.default.linkItem(atPath: weights, toPath: link)
      let x = dir.appendingPathComponent("x.npy").path
      try Npy.write(Tensor(shape: [1, 32, 32], data: Array(repeating: 0.5, count: 1024)), to: x)
      let overWeights = try runZoo(["run", "lenet5", x, "--weights", weights, "--output", link])
      #expect(overWeights.status != 0)
      #expect(
        overWeights.err.contains("--output `\(link)` is the same file as --weights `\(weights)`"), "\(overWeights.err)")
      #expect(try Data(contentsOf: URL(fileURLWithPath: weights)) == before)
      let overInput = try runZoo(["run", "lenet5", x, "--output", dir.path + "/./x.npy"])
      #expect(
        overInput.status != 0 && overInput.err.contains("is the same file as the input `\(x)`"), "\(overInput.err)")
      let nowhere = try runZoo(["run", "lenet5", x, "--output", dir.path + "/no/y.npy"])
      #expect(
        nowhere.status != 0 && nowhere.err.contains("`\(dir.path)/no/y.npy`: there is no folder `\(dir.path)/no`")
          && !nowhere.out.contains("lenet5 · input"),
        "refused before the model runs: \(nowhere.err)")
      let chart = dir.appendingPathComponent("rf.svg").path
      let both = try runZoo([
        "rf", "resnet18", "--chart", chart, "--diagram", dir.path + "/../\(dir.lastPathComponent)/rf.svg",
      ])
      #expect(both.status != 0 && both.err.contains("--chart `\(chart)` and --diagram"), "\(both.err)")
      #expect(!FileManager.default.fileExists(atPath: chart))
    }
  }

  /// `zoo report --check` names temporary files an interrupted write left; a report that fails halfway
  /// writes the figures before the pages and the index last, so no page names a missing figure.
  @Test func reportLeavesNoHalfGallery() throws {
    try withScratchFolder { dir in
      let out = dir.appendingPathComponent("gallery").path
      // A folder where the first figure of resnet18 goes: its write fails.
      try FileManager.default.createDirectory(
        atPath: out + "/figures/resnet18-diagram.svg", withIntermediateDirectories: true)
      let failed = try runZoo(["report", "resnet18", "--out", out])
      #expect(failed.status != 0)
      #expect(failed.err.contains("resnet18-diagram.svg") && failed.err.contains("it is a folder"), "\(failed.err)")
      let left = try FileManager.default.subpathsOfDirectory(atPath: out)
      #expect(!left.contains("README.md") && !left.contains("resnet18.md"), "\(left)")
      #expect(!left.contains { Files.isTemporaryName(URL(fileURLWithPath: $0).lastPathComponent) }, "\(left)")
      try FileManager.default.removeItem(atPath: out + "/figures/resnet18-diagram.svg")
      let written = try runZoo(["report", "resnet18", "--out", out])
      #expect(written.status == 0, "\(written.err)")
      try Data("partial".utf8).write(to: URL(fileURLWithPath: out + "/figures/.resnet18-rf.svg.zoo-tmp-1-1"))
      let check = try runZoo(["report", "resnet18", "--check", "--out", out])
      #expect(check.status != 0)
      #expect(check.err.contains("temporary: \(out)/figures/.resnet18-rf.svg.zoo-tmp-1-1"), "\(check.err)")
    }
  }

  /// A SIGTERM or SIGINT while a file is being written removes the temporary file: the folder keeps no
  /// `.zoo-tmp-` file and no partial output, and the process ends by the signal.
  @Test(arguments: [SIGTERM, SIGINT])
  func aSignalMidWriteLeavesNoTemporaryFile(_ sig: Int32) throws {
    try withScratchFolder { dir in
      let x = dir.appendingPathComponent("x.npy").path
      try Npy.write(Tensor(shape: [1, 32, 32], data: Array(repeating: 0.5, count: 1024)), to: x)
      let y = dir.appendingPathComponent("y.npy").path
      let p = Process()
      p.executableURL = zooBinary
      p.arguments = ["run", "lenet5", x, "--output", y]
      p.environment = ProcessInfo.processInfo.environment.merging(["ZOO_TEST_WRITE_PAUSE_MS": "20000"]) { $1 }
      p.standardOutput = FileHandle.nullDevice
      try p.run()
      var temporary: String? = nil
      for _ in 0..<2000 where p.isRunning && temporary == nil {
        temporary = try FileManager.default.contentsOfDirectory(atPath: dir.path).first {
          $0.contains(Files.temporaryMarker)
        }
        usleep(10_000)
      }
      #expect(temporary != nil, "no temporary file appeared while writing")
      kill(p.processIdentifier, sig)
      p.waitUntilExit()
      #expect(
        p.terminationReason == .uncaughtSignal && p.terminationStatus == sig,
        "\(p.terminationReason == .exit ? "exit" : "signal") \(p.terminationStatus)")
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["x.npy"], "\(temporary ?? "none")")
    }
  }
}
