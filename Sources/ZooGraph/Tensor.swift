/// A float32 tensor: a weight from a safetensors or ONNX file or the seeded initialiser, or a forward
/// pass's input or output. Its shape and values, row-major.
public struct Tensor: Sendable {
  public var shape: [Int]
  public var data: [Float]
  public init(shape: [Int], data: [Float]) {
    self.shape = shape
    self.data = data
  }
}
