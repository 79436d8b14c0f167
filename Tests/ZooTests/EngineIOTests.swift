import CZooKernels
import Foundation
import Testing
import ZooEngine
import ZooGraph

func temporaryPath(_ name: String) -> String {
  FileManager.default.temporaryDirectory.appendingPathComponent("zoo-engine-\(getpid())-\(name)").path
}

/// A safetensors file from raw parts: the header JSON and the data bytes.
func writeSafetensors(header: String, data: [UInt8], to path: String) throws {
  var bytes: [UInt8] = []
  var n = UInt64(header.utf8.count)
  for _ in 0..<8 {
    bytes.append(UInt8(n & 0xFF))
    n >>= 8
  }
  bytes += Array(header.utf8) + data
  try Data(bytes).write(to: URL(fileURLWithPath: path))
}

func floatBytes(_ xs: [Float]) -> [UInt8] { xs.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }

@Suite("Engine weights and files")
struct EngineIOTests {
  @Test func safetensorsRoundTripLoadsByName() throws {
    let graph = try builtin("lenet5")
    let w = SeededInit.weights(for: graph)
    let path = temporaryPath("lenet.safetensors")
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Safetensors.save(w, to: path)
    let back = try Safetensors.load(path)
    #expect(back.keys.sorted() == w.keys.sorted())
    #expect(back["fc1.weight"]?.shape == [120, 400])
    #expect(back["fc1.weight"]?.data == w["fc1.weight"]?.data)
  }

  @Test func halfPrecisionIsWidened() throws {
    // F16 1.0 = 0x3C00, −2.5 = 0xC100; BF16 1.0 = 0x3F80, 0.5 = 0x3F00.
    let path = temporaryPath("half.safetensors")
    defer { try? FileManager.default.removeItem(atPath: path) }
    try writeSafetensors(
      header:
        #"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},"__metadata__":{"format":"pt"}}"#,
      data: [0x00, 0x3C, 0x00, 0xC1, 0x80, 0x3F, 0x00, 0x3F], to: path)
    let t = try Safetensors.load(path)
    #expect(t["a"]?.data == [1, -2.5])
    #expect(t["b"]?.data == [1, 0.5])
  }

  @Test func badSafetensorsFilesGiveClearErrors() throws {
    let path = temporaryPath("bad.safetensors")
    defer { try? FileManager.default.removeItem(atPath: path) }
    func message() -> String {
      do {
        _ = try Safetensors.load(path)
        return "no error"
      } catch { return "\(error)" }
    }
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
    #expect(message().contains("fewer than the 8-byte header length"))
    try writeSafetensors(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0], to: path)
    #expect(message().contains("data_offsets [0, 8] outside the 3 data bytes"))
    try writeSafetensors(
      header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: floatBytes([1, 2]), to: path)
    #expect(message().contains("needs 12 bytes"))
    try writeSafetensors(header: #"{"a":{"dtype":"F32","sh"#, data: [], to: path)
    #expect(message().contains("not valid JSON"))
    var huge = [UInt8](repeating: 0xFF, count: 8)
    huge[7] = 0x7F
    try Data(huge + [0x7B]).write(to: URL(fileURLWithPath: path))
    #expect(message().contains("truncated"))
  }

  @Test func missingUnexpectedAndMisshapenWeightsAreNamed() throws {
    let graph = try builtin("lenet5")
    func message(_ edit: (inout [String: Tensor]) -> Void) -> String {
      var w = SeededInit.weights(for: graph)
      edit(&w)
      do {
        _ = try Network(graph: graph, weights: w, source: "`w.safetensors`")
        return "no error"
      } catch { return "\(error)" }
    }
    #expect(message { $0["fc2.bias"] = nil }.contains("`w.safetensors` lacks 1 tensor(s) lenet5 needs: `fc2.bias` 84"))
    #expect(message { $0["fc9.weight"] = Tensor(shape: [1], data: [0]) }.contains("does not have: `fc9.weight`"))
    #expect(
      message { $0["conv1.weight"] = Tensor(shape: [6, 1, 3, 3], data: Array(repeating: 0, count: 54)) }
        .contains("tensor `conv1.weight` has shape 6×1×3×3 but lenet5 expects 6×1×5×5"))
    #expect(message { $0["conv1.num_batches_tracked"] = Tensor(shape: [], data: [0]) } == "no error")
  }

  @Test func npyRoundTripAndBadFiles() throws {
    let path = temporaryPath("x.npy")
    defer { try? FileManager.default.removeItem(atPath: path) }
    let t = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
    try Npy.write(t, to: path)
    let back = try Npy.read(path)
    #expect(back.shape == [2, 3])
    #expect(back.data == t.data)
    // A float64 array: rejected with the dtype named.
    var f64 = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
    var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }"
    while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    f64.append(contentsOf: [UInt8(header.utf8.count), 0])
    f64.append(Data(header.utf8))
    f64.append(Data(count: 8))
    try f64.write(to: URL(fileURLWithPath: path))
    #expect(throws: EngineError.self) { try Npy.read(path) }
    do { _ = try Npy.read(path) } catch { #expect("\(error)".contains("dtype <f8")) }
  }
}

@Suite("zoo run and zoo bench")
struct EngineCommandTests {
  @Test func runWritesTheOutputNpy() throws {
    let x = temporaryPath("in.npy")
    let y = temporaryPath("out.npy")
    defer {
      try? FileManager.default.removeItem(atPath: x)
      try? FileManager.default.removeItem(atPath: y)
    }
    try Npy.write(Tensor(shape: [2, 1, 32, 32], data: seededInput(2048)), to: x)
    let r = try runZoo(["run", "lenet5", x, "--output", y, "--top", "3"])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("lenet5 · input 2×1×32×32 · output 2×10"))
    let out = try Npy.read(y)
    #expect(out.shape == [2, 10])
    let graph = try builtin("lenet5")
    let net = try Network(graph: graph, batch: 2, weights: SeededInit.weights(for: graph))
    #expect(out.data == (try net.run(seededInput(2048))[0]))
  }

  /// `zoo run` plans one pass without Winograd unless asked (`--winograd`); both agree to float
  /// rounding, and the default equals a `Network` built with `winograd: false`, value for value.
  @Test func runWinogradFlag() throws {
    let x = temporaryPath("rgb.npy")
    let plain = temporaryPath("plain.npy")
    let wino = temporaryPath("wino.npy")
    defer { for p in [x, plain, wino] { try? FileManager.default.removeItem(atPath: p) } }
    let input = seededInput(3 * 48 * 48)
    try Npy.write(Tensor(shape: [3, 48, 48], data: input), to: x)
    let a = try runZoo(["run", "resnet18", x, "--output", plain, "--top", "0"])
    let b = try runZoo(["run", "resnet18", x, "--output", wino, "--top", "0", "--winograd"])
    #expect(a.status == 0 && b.status == 0, "\(a.err)\(b.err)")
    let (ya, yb) = (try Npy.read(plain).data, try Npy.read(wino).data)
    let scale = ya.reduce(Float(0)) { max($0, abs($1)) }
    #expect(ya.count == 1000 && yb.count == 1000)
    #expect(maxAbsDiff(ya, yb) <= 1e-4 * scale, "Winograd against direct convolutions")
    #expect(ya != yb, "--winograd changed nothing: no convolution ran as Winograd")
    let graph = try builtin("resnet18")
    let net = try Network(
      graph: graph, input: [3, 48, 48], weights: SeededInit.weights(for: graph),
      options: PlanOptions(winograd: .off))
    #expect(ya == (try net.run(input)[0]))
  }

  @Test func runRejectsBadInputs() throws {
    let x = temporaryPath("wrong.npy")
    defer { try? FileManager.default.removeItem(atPath: x) }
    try Npy.write(Tensor(shape: [3, 32, 32], data: Array(repeating: 0, count: 3072)), to: x)
    let r = try runZoo(["run", "lenet5", x])
    #expect(r.status != 0)
    #expect(r.err.contains("has shape 3×32×32; lenet5 takes 1×32×32"))
    let missing = try runZoo(["run", "lenet5", "/nonexistent.png"])
    #expect(missing.status != 0)
    #expect(missing.err.contains("/nonexistent.png"))
    // A missing weight file, with an input lenet5 accepts, so the weights are what is refused.
    let good = temporaryPath("good.npy")
    defer { try? FileManager.default.removeItem(atPath: good) }
    try Npy.write(Tensor(shape: [1, 32, 32], data: Array(repeating: 0, count: 1024)), to: good)
    let w = try runZoo(["run", "lenet5", good, "--weights", "/nonexistent.safetensors"])
    #expect(w.status != 0)
    #expect(
      w.err == "Error: cannot read the weight file `/nonexistent.safetensors`: there is no such file\n",
      "\(w.err)")
    #expect(w.out.isEmpty)
    // `--input` is the shape, as in every command; the file is the argument after the model.
    let old = try runZoo(["run", "lenet5", "--input", good])
    #expect(old.status == 1)
    #expect(old.err.contains("give the file as the argument after the model: zoo run lenet5 \(good)"), "\(old.err)")
    let noFile = try runZoo(["run", "lenet5", "--input", "1x32x32"])
    #expect(noFile.status == 1 && noFile.err.contains("zoo run needs an input file after the model"))
    let wrongShape = try runZoo(["run", "lenet5", good, "--input", "1x28x28"])
    #expect(wrongShape.status == 1 && wrongShape.err.contains("not the --input 1×28×28"), "\(wrongShape.err)")
    // Seeded weights: said once, on stderr, and no ImageNet names.
    let seeded = try runZoo(["run", "lenet5", good, "--top", "2"])
    #expect(seeded.status == 0)
    #expect(seeded.err.components(separatedBy: "seeded random weights").count == 2, "\(seeded.err)")
  }

  @Test func benchPrintsJSON() throws {
    let r = try runZoo(["bench", "lenet5", "--iterations", "3", "--warmup", "1", "--json", "--batch", "2"])
    #expect(r.status == 0, "\(r.err)")
    let doc = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
    #expect(doc["macs"] as? Int == 2 * 416_520)
    #expect(doc["batch"] as? Int == 2)
    // The default, 2, unless the machine has fewer CPUs (threads never exceed them).
    #expect(doc["threads"] as? Int == Network.usableThreads(2))
    #expect((doc["median_ms"] as? Double ?? 0) > 0)
    #expect((doc["peak_rss_bytes"] as? Int ?? 0) > 0)
    #expect((doc["gflops"] as? Double ?? 0) > 0)
    // The tier's arithmetic peak and the model's share of it, with the tier named.
    let isa = try #require(doc["isa"] as? String)
    #expect(PlanOptions.ISA(rawValue: isa) != nil, "isa \(isa) is not a tier")
    let fma = try #require(doc["fma_peak_gflops"] as? Double)
    let share = try #require(doc["fma_peak_share"] as? Double)
    #expect(fma.isFinite && fma > 0, "fma_peak_gflops \(fma)")
    #expect(
      abs(share * fma - (doc["gflops"] as! Double)) <= 1e-9 * fma, "fma_peak_share is not gflops / fma_peak_gflops")
    let blas = try runZoo(["bench", "lenet5", "--iterations", "1", "--json", "--kernels", "blas"])
    #expect(!blas.out.contains("fma_peak"), "the BLAS path has no tier to hold the model against")
  }

  /// The register-only loop's operation count: 2 per lane per multiply-add, one multiply-add per
  /// accumulator per step (16 with 32 vector registers, 12 with AVX2's and SSE2's 16, see peak.c), on
  /// every thread; a count off by a factor would make every "share of peak" wrong by it.
  @Test func fmaPeakCountsItsOperations() throws {
    for isa in PlanOptions.ISA.supported {
      #if arch(arm64)
        let width: Double = 16 * 4
      #else
        let width: Double = isa == .avx512 ? 16 * 16 : isa == .avx2 ? 12 * 8 : 12 * 4
      #endif
      for threads in [1, 2] {
        let flops = zk_fma_peak_run(isa.code, Int32(threads), 1000, 1)
        #expect(flops == 2 * width * 1000 * Double(threads), "tier \(isa), \(threads) thread(s): \(flops)")
      }
      let peak = try #require(Benchmark.fmaPeak(threads: 1, isa: isa, iterations: 100_000, repeats: 2))
      #expect(peak.isFinite && peak > 0, "tier \(isa): \(peak) GFLOP/s")
    }
  }
}

@Suite("Engine images")
struct EngineImageTests {
  @Test func pngDecodesExactly() throws {
    // gradient.png (scripts: PIL) holds R = 12x, G = 15y, B = 100 at column x, row y of 20 × 16.
    let image = try ImageInput.decode(fixturesDir.appendingPathComponent("gradient.png").path)
    #expect(image.width == 20)
    #expect(image.height == 16)
    for (x, y) in [(0, 0), (19, 0), (7, 11), (19, 15)] {
      let p = (y * 20 + x) * 3
      #expect(Array(image.pixels[p..<p + 3]) == [UInt8(12 * x), UInt8(15 * y), 100])
    }
  }

  @Test func jpegIsPreprocessedWithImageNetStatistics() throws {
    // A uniform (200, 100, 50) JPEG stays uniform through resize and crop, so every value is
    // (v / 255 − mean) / std, up to the JPEG's ±2 levels.
    let t = try ImageInput.load(
      fixturesDir.appendingPathComponent("orange.jpg").path, channels: 3, height: 224, width: 224)
    #expect(t.shape == [1, 3, 224, 224])
    let rgb: [Float] = [200, 100, 50]
    for c in 0..<3 {
      let expected = (rgb[c] / 255 - ImageInput.mean[c]) / ImageInput.std[c]
      let plane = t.data[(c * 224 * 224)..<((c + 1) * 224 * 224)]
      #expect(plane.allSatisfy { abs($0 - expected) < 2.5 / 255 / ImageInput.std[c] }, "channel \(c)")
    }
  }

  @Test func notAnImageIsACleanError() throws {
    let path = temporaryPath("fake.jpg")
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).write(to: URL(fileURLWithPath: path))
    let r = try runZoo(["run", "resnet18", path])
    #expect(r.status != 0)
    #expect(r.err.contains("cannot decode the JPEG image"))
    try Data("hello".utf8).write(to: URL(fileURLWithPath: path))
    let r2 = try runZoo(["run", "resnet18", path])
    #expect(r2.err.contains("neither a PNG nor a JPEG"))
  }

  @Test func runPrintsImageNetNames() throws {
    let r = try runZoo([
      "run", "resnet18", fixturesDir.appendingPathComponent("orange.jpg").path, "--top", "3",
    ])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("seeded weights"))
    #expect(r.out.split(separator: "\n").count == 6)
    #expect(ImageNet.classNames.count == 1000)
    #expect(ImageNet.classNames[281] == "tabby")
  }
}
