// libFuzzer target: the safetensors reader on bytes in memory (scripts/fuzz.sh builds and runs it).
// Any input must end in tensors or in an EngineError; a trap, crash or sanitizer report is a bug.
import ZooEngine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
  do {
    let tensors = try Safetensors.parse(bytes, name: "fuzz.safetensors")
    for (key, t) in tensors {
      precondition(t.shape.reduce(1, *) == t.data.count, "\(key): shape \(t.shape) and \(t.data.count) values")
    }
  } catch is EngineError {
  } catch {
    fatalError("not an EngineError: \(error)")
  }
  return 0
}
