// libFuzzer target: PNG and JPEG decoding and the ImageNet preprocessing on bytes in memory
// (scripts/fuzz.sh builds and runs it). The pixel budget is lowered to 4 Mi pixels so that each input
// stays fast; the budget check itself runs on every input. Any input must end in a tensor or in an
// EngineError; a trap, crash, leak or sanitizer report is a bug.
import ZooEngine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImage(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
  do {
    let image = try ImageInput.decode(bytes, name: "fuzz.image", maxPixels: 1 << 22)
    precondition(image.pixels.count == image.width * image.height * 3)
    // A small crop keeps the resampling cheap while still exercising it on every aspect ratio.
    let t = ImageInput.preprocess(image, channels: 3, height: 16, width: 24)
    precondition(t.data.count == 3 * 16 * 24 && t.data.allSatisfy { $0.isFinite })
  } catch is EngineError {
  } catch {
    fatalError("not an EngineError: \(error)")
  }
  return 0
}
