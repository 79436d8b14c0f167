/// Element types a tensor may be stored in, with their sizes in bytes.
public enum DType: String, CaseIterable, Sendable {
  case fp32, fp16, bf16, int8

  /// Bytes per element: fp32 4, fp16 and bf16 2, int8 1.
  public var bytes: Int {
    switch self {
    case .fp32: 4
    case .fp16, .bf16: 2
    case .int8: 1
    }
  }
}
