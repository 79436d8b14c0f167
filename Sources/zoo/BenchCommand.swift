import ArgumentParser
import Foundation
import ZooEngine
import ZooGraph

struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Times a model's forward pass and reports latency, throughput, GFLOP/s and peak memory.",
    discussion: """
      The model runs with seeded weights on a seeded input after a few warm-up passes. GFLOP/s is \
      2 × MACs / latency (MACs as in `zoo describe`), and its share is taken of this machine's GEMM \
      peak, measured after the timed passes with the same number of threads on square 1536 × 1536 \
      matrices: the larger of the BLAS's sgemm and, on CPUs with AVX-512, the engine's own \
      convolution GEMM. The MACs are those of the layers as defined, so a model whose 3×3 convolutions \
      run as Winograd F(2×2, 3×3) or F(4×4, 3×3) (2.25× or 4× fewer multiplications, as `zoo bench` \
      plans them and `zoo run --winograd` does) can pass 100% of the peak. Peak memory is the process's peak resident set \
      size (the peak measurements' matrices included: 28 MB).
      """
  )

  @OptionGroup var engine: EngineOptions

  @Option(
    help: ArgumentHelp(
      "The input of one sample as CxHxW, for example 3x320x320. Defaults to the model's own input.",
      valueName: "CxHxW"))
  var input: String?

  @Option(help: "The number of samples per forward pass.")
  var batch: Int = 1

  @Option(help: "The number of timed forward passes.")
  var iterations: Int = 20

  @Option(help: "The number of untimed forward passes before timing.")
  var warmup: Int = 3

  @Flag(help: "Prints one JSON object instead of the report.")
  var json = false

  @Option(help: "Also lists the N slowest kernels (median time per kernel over the timed passes).")
  var layers: Int = 0

  func validate() throws {
    _ = try input.map(parseInputShape)
    guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch).") }
    guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1, got \(iterations).") }
    guard warmup >= 0 else { throw ValidationError("--warmup must be at least 0, got \(warmup).") }
  }

  struct Report: Encodable {
    var model: String
    var batch, threads, iterations: Int
    var medianMs, minMs, maxMs: Double
    var throughputPerS: Double
    var macs: Int
    var gflops: Double
    /// The larger of the two below: what `peakShare` is taken of.
    var sgemmPeakGflops: Double
    var blasSgemmPeakGflops: Double
    var engineGemmPeakGflops: Double?
    var peakShare: Double
    /// The tier's register-only multiply-add peak (`Benchmark.fmaPeak`), and the model's share of it;
    /// nil with `--kernels blas`.
    var fmaPeakGflops: Double?
    var fmaPeakShare: Double?
    var peakRssBytes: Int
    var weightBytes: Int
    var arenaBytes: Int
    var predictedPeakActivationBytes: Int
    var scratchBytes: Int
    var blasCore: String
    /// The tier of the engine's kernels that ran (`avx512`, `avx2`, `neon`, `generic`), or `blas`.
    var isa: String
    var nodes: Int
    var kernels: Int
  }

  func run() throws {
    BLASSetup.preferAVX512Kernels()
    let graph = try engine.graph(input: try input.map(parseInputShape))
    let net: Network
    do {
      net = try Network(
        graph: graph, input: try input.map(parseInputShape), batch: batch, weights: SeededInit.weights(for: graph),
        threads: engine.threads,
        options: try engine.planOptions())
      _ = try net.run(SeededInit.uniform(key: "input", count: net.inputCount).map { 2 * $0 - 1 })
    } catch let e as EngineError {
      throw ZooError(e.description)
    }
    let progress = isatty(STDERR_FILENO) != 0 && !json
    for _ in 0..<warmup { net.forward() }
    var times: [Double] = []
    for i in 0..<iterations {
      let t0 = Benchmark.now()
      net.forward()
      times.append(Benchmark.now() - t0)
      if progress { drawProgress(i + 1, of: iterations, last: times.last!) }
    }
    if progress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    // The GEMM peaks are measured after the model: OpenBLAS's workers keep spinning for a while
    // after an sgemm, and would compete with the engine's threads during the timed passes.
    let blasPeak = Benchmark.sgemmPeak(threads: net.threads)
    let enginePeak = Benchmark.engineGEMMPeak(threads: net.threads, isa: net.isa)
    let peak = max(blasPeak, enginePeak ?? 0)
    let fmaPeak = net.options.kernels == .blas ? nil : Benchmark.fmaPeak(threads: net.threads, isa: net.isa)
    times.sort()
    let median =
      times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
    let gflops = 2 * Double(net.macs) / median / 1e9
    let r = Report(
      model: graph.name, batch: batch, threads: net.threads, iterations: iterations, medianMs: median * 1e3,
      minMs: times.first! * 1e3, maxMs: times.last! * 1e3, throughputPerS: Double(batch) / median,
      macs: net.macs, gflops: gflops, sgemmPeakGflops: peak, blasSgemmPeakGflops: blasPeak,
      engineGemmPeakGflops: enginePeak, peakShare: gflops / peak,
      fmaPeakGflops: fmaPeak, fmaPeakShare: fmaPeak.map { gflops / $0 },
      peakRssBytes: Benchmark.peakResidentBytes(), weightBytes: net.weightBytes,
      arenaBytes: net.memory.arenaBytes, predictedPeakActivationBytes: net.memory.peakBytes,
      scratchBytes: net.scratchBytes, blasCore: BLASSetup.coreName,
      isa: net.options.kernels == .blas ? "blas" : net.isa.rawValue,
      nodes: graph.nodes.count, kernels: net.stepCount)
    if json {
      print(try jsonString(r))
      return
    }
    if layers > 0 {
      var perKernel: [[Double]] = []
      var names: [(String, String)] = []
      for _ in 0..<iterations {
        let t = net.forwardTimed()
        if perKernel.isEmpty {
          perKernel = Array(repeating: [], count: t.count)
          names = t.map { ($0.name, $0.kernel) }
        }
        for (i, s) in t.enumerated() { perKernel[i].append(s.seconds) }
      }
      let medians = perKernel.map { $0.sorted()[$0.count / 2] }
      let total = medians.reduce(0, +)
      var table = TextTable(headers: ["Layer", "Kernel", "ms", "Share"], rightAligned: [2, 3])
      for i in medians.indices.sorted(by: { medians[$0] > medians[$1] }).prefix(layers) {
        table.rows.append([
          names[i].0, names[i].1, String(format: "%.2f", medians[i] * 1e3),
          percent(medians[i] / total),
        ])
      }
      print(table.render())
      print("")
    }
    let blasText = "OpenBLAS \(r.blasCore) sgemm \(String(format: "%.1f", blasPeak)) GFLOP/s"
    let peakText =
      enginePeak.map { "engine GEMM \(String(format: "%.1f", $0)) GFLOP/s, \(blasText)" } ?? blasText
    // The register-only peak is the tier's own limit; with `--kernels blas` there is no tier to hold
    // the model against, so the line is left out.
    let arithmeticLine =
      fmaPeak.map {
        "Arithmetic:  \(String(format: "%.0f", 100 * gflops / $0))% of the \(r.isa) tier's register-only multiply-add peak (\(String(format: "%.1f", $0)) GFLOP/s on \(net.threads) thread(s))\n"
      } ?? ""
    func mb(_ b: Int) -> String { String(format: "%.1f MB", Double(b) / 1e6) }
    printFitted(
      """
      \(r.model) · batch \(batch) · \(net.threads) thread(s) · kernels \(r.isa == "blas" ? "im2col + OpenBLAS" : "engine \(r.isa)") · \(iterations) iterations after \(warmup) warm-up · \(r.nodes) nodes in \(r.kernels) kernels
      Latency:     median \(String(format: "%.2f", r.medianMs)) ms, min \(String(format: "%.2f", r.minMs)) ms, max \(String(format: "%.2f", r.maxMs)) ms
      Throughput:  \(String(format: "%.1f", r.throughputPerS)) samples/s
      Compute:     \(grouped(r.macs)) MACs → \(String(format: "%.1f", gflops)) GFLOP/s, \(String(format: "%.0f", 100 * r.peakShare))% of the GEMM peak (\(peakText))
      \(arithmeticLine)Memory:      peak RSS \(mb(r.peakRssBytes)); weights \(mb(r.weightBytes)), activation arena \(mb(r.arenaBytes)) (liveness peak \(mb(r.predictedPeakActivationBytes))), scratch \(mb(r.scratchBytes)) (padded input copies, im2col bands, Winograd tiles)
      """)
  }

  private func drawProgress(_ done: Int, of total: Int, last: Double) {
    let width = 30
    let filled = width * done / total
    let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
    FileHandle.standardError.write(
      Data("\r\(bar) \(done)/\(total)  \(String(format: "%.1f", last * 1e3)) ms".utf8))
  }
}
