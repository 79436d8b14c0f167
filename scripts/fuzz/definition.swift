// libFuzzer target: the definition loader (YAML, ops and expressions) on text in memory, then every
// model of the file built to a graph (scripts/fuzz.sh builds and runs it). Any input must end in graphs
// or in a DefinitionError; a trap, crash, hang or sanitizer report is a bug.
import ZooFormat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDefinition(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  do {
    let file = try DefinitionFile(path: "fuzz.yaml", text: text)
    for model in file.models.prefix(4) {
      _ = try file.graph(model)
    }
  } catch {
    // DefinitionFile's initialiser and graph(_:) throw DefinitionError only (typed throws).
  }
  return 0
}
