// libFuzzer target: the .npy reader on bytes in memory (scripts/fuzz.sh builds and runs it).
// Any input must end in a tensor or in an EngineError; a trap, crash or sanitizer report is a bug.
import ZooEngine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNpy(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
  do {
    let t = try Npy.parse(bytes, path: "fuzz.npy")
    precondition(t.shape.reduce(1, *) == t.data.count, "shape \(t.shape) and \(t.data.count) values")
  } catch is EngineError {
  } catch {
    fatalError("not an EngineError: \(error)")
  }
  return 0
}
