import Foundation
import Testing
import ZooAnalysis
import ZooFormat
import ZooGraph

/// The repository root (for reading zoo/ and the test fixtures).
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()

/// The reference figures measured on torchvision (`torchvision.json`, `receptive_fields.json`), made by
/// scripts/make_reference.py and committed with the tests.
let referenceDir = repoRoot.appendingPathComponent("Tests/ZooTests/Fixtures/reference")

/// The built `zoo` executable, next to the test bundle in the build folder.
let zooBinary: URL = {
  let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
  var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
  if dir.lastPathComponent == "MacOS" || dir.pathExtension == "xctest" { dir = dir.deletingLastPathComponent() }
  return dir.appendingPathComponent("zoo")
}()

/// Runs the `zoo` binary with `args` (and `environment` over this process's); returns the exit status,
/// standard output and standard error.
func runZoo(_ args: [String], cwd: URL? = nil, environment: [String: String] = [:]) throws -> (
  status: Int32, out: String, err: String
) {
  let p = Process()
  p.executableURL = zooBinary
  p.arguments = args
  // Output is 100 columns wide and plain when piped, unless the caller sets COLUMNS or the colour
  // variables: the environment's own (a terminal's, CI's) must not change what the tests see.
  p.environment = ProcessInfo.processInfo.environment.merging(
    ["COLUMNS": "", "NO_COLOR": "", "CLICOLOR_FORCE": ""].merging(environment) { $1 }
  ) { $1 }
  if let cwd { p.currentDirectoryURL = cwd }
  let out = Pipe()
  let err = Pipe()
  p.standardOutput = out
  p.standardError = err
  try p.run()
  let o = out.fileHandleForReading.readDataToEndOfFile()
  let e = err.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// A built-in model's graph.
func builtin(_ name: String, overrides: [(String, String)] = []) throws -> Graph {
  let zoo = try Zoo.builtin()
  let (file, model) = try #require(zoo.find(name), "no built-in model \(name)")
  return try file.graph(model, overrides: overrides)
}

/// Deterministic random numbers (SplitMix64), so a failing random sweep can be replayed from its seed.
struct SplitMix: RandomNumberGenerator {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
