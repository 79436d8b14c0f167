import ZooGraph

/// The worked output length of a sliding window (convolution or pooling) along one axis.
///
/// `out = floor((n + 2·p − d·(k − 1) − 1)/s) + 1`, which is `floor((n + 2·p − k)/s) + 1` when the
/// dilation `d` is 1; with `ceil` the division rounds up, and PyTorch drops a last window that would
/// start in the right padding (`(out − 1)·s ≥ n + p`). The result comes from ZooGraph's
/// `windowOutputSize`, the rule every layer of the zoo uses.
public struct OutputSize: Sendable, Encodable {
  public var input: Int
  public var kernel: Int
  public var stride: Int
  public var padding: Int
  public var dilation: Int
  public var ceilMode: Bool
  /// The pixels one window spans: `d·(k − 1) + 1`.
  public var span: Int
  /// `n + 2·p − span`, the room the window has to slide in.
  public var room: Int
  /// `room / s` rounded down (or up in ceil mode), before PyTorch's ceil-mode correction.
  public var steps: Int
  /// Ceil mode only: whether the last window started in the right padding and was dropped.
  public var droppedLastWindow: Bool
  public var output: Int

  /// Computes the output length; throws when no window fits or a value is out of range.
  public init(
    input n: Int, kernel k: Int, stride s: Int = 1, padding p: Int = 0, dilation d: Int = 1, ceilMode: Bool = false
  ) throws(TeachError) {
    guard n >= 1 else { throw TeachError("the input size must be at least 1, got \(n)") }
    guard k >= 1 else { throw TeachError("the kernel size must be at least 1, got \(k)") }
    guard s >= 1 else { throw TeachError("the stride must be at least 1, got \(s)") }
    guard p >= 0 else { throw TeachError("the padding must be 0 or more, got \(p)") }
    guard d >= 1 else { throw TeachError("the dilation must be at least 1, got \(d)") }
    // Every intermediate value of windowOutputSize is bounded by this sum, so it cannot trap.
    _ = try checkedSum(
      [n, try checkedTimes([2, p], "padded input size"), try checkedTimes([d, k - 1], "kernel span"), s],
      "sum of the input, padding, kernel span and stride")
    input = n
    kernel = k
    stride = s
    padding = p
    dilation = d
    self.ceilMode = ceilMode
    span = d * (k - 1) + 1
    room = n + 2 * p - span
    guard room >= 0 else {
      throw TeachError(
        "a window spanning \(span) pixels does not fit in the padded input \(n) + 2·\(p) = \(n + 2 * p): "
          + "\(n + 2 * p) − \(span) = −\(-room) < 0, so there is no output (PyTorch raises an error)")
    }
    steps = ceilMode ? (room + s - 1) / s : room / s
    output = windowOutputSize(n, kernel: k, stride: s, padding: p, dilation: d, ceilMode: ceilMode)
    droppedLastWindow = output == steps
  }

  /// The formula with symbols: `floor((n + 2·p − k)/s) + 1`.
  public var formula: String {
    let r = ceilMode ? "ceil" : "floor"
    return dilation == 1 ? "\(r)((n + 2·p − k)/s) + 1" : "\(r)((n + 2·p − d·(k − 1) − 1)/s) + 1"
  }

  /// The formula with the numbers plugged in, and its value: `floor((5 + 2·1 − 3)/2) + 1 = 3`.
  public var pluggedIn: String {
    let r = ceilMode ? "ceil" : "floor"
    let sub = dilation == 1 ? "\(kernel)" : "\(dilation)·(\(kernel) − 1) − 1"
    return "\(r)((\(input) + 2·\(padding) − \(sub))/\(stride)) + 1 = \(steps + 1)"
  }

  /// The lines of the worked answer, its tables and matrices fitted to `columns` columns (the prose is
  /// left for the caller to wrap).
  public func worked(columns: Int) -> [String] {
    let r = ceilMode ? "ceil" : "floor"
    var lines = [
      "Output size along one axis (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d):",
      "",
      "  out = \(formula)",
      "  n = \(input) (input), k = \(kernel) (kernel), p = \(padding) (padding), s = \(stride) (stride)"
        + (dilation == 1 ? "" : ", d = \(dilation) (dilation)"),
      "",
    ]
    if dilation != 1 {
      lines.append(
        "  The dilated kernel spans d·(k − 1) + 1 = \(dilation)·(\(kernel) − 1) + 1 = \(span) pixels.")
    }
    lines += [
      "  \(pluggedIn)",
      "  Step by step: \(input) + 2·\(padding) − \(span) = \(room); \(r)(\(room)/\(stride)) = \(steps); "
        + "\(steps) + 1 = \(steps + 1).",
    ]
    if droppedLastWindow {
      lines += [
        "  In ceil mode the last window would start at (out − 1)·s = \(steps)·\(stride) = \(steps * stride),",
        "  which is at or past n + p = \(input + padding): it would see only right padding, so PyTorch",
        "  drops it and the output is \(output).",
      ]
    }
    lines += ["", "Output: \(output) (\(input) + 2·\(padding) padded, window \(span), stride \(stride))."]
    if !ceilMode && room % stride != 0 {
      lines.append(
        "Floor rounding: the last \(room % stride) pixel\(room % stride == 1 ? "" : "s") of the padded input "
          + "\(room % stride == 1 ? "lies" : "lie") in no window.")
    }
    return lines
  }
}
