import ZooGraph

/// A transposed convolution worked by hand, as the lecture notes put it: "the kernel takes 1 value and
/// returns 9".
///
/// Every input value `x[i][j]` scatters `x[i][j] · w[u][v]` into output `[i·s − p + u][j·s − p + v]`, and
/// overlapping contributions add up (what `nn.ConvTranspose2d` computes, one channel, dilation 1). The
/// output size per axis is `(n − 1)·s − 2·p + (k − 1) + output_padding + 1`: the scattered blocks span
/// `(n − 1)·s + k` values, `p` are cropped from each side, and `output_padding` adds values at the end.
/// The same output comes from a stride-1 convolution of the input spread out with `s − 1` zeros between
/// values, padded by `k − 1 − p` (plus `output_padding` at the end), with the kernel turned by 180°.
public struct WorkedTransposedConvolution: Sendable {
  public var image: Matrix
  public var kernel: Matrix
  public var stride: Int
  public var padding: Int
  public var outputPadding: Int
  public var output: Matrix

  /// The most output values the worked answer prints.
  public static let maxOutputValues = 10_000

  public init(image: Matrix, kernel: Matrix, stride: Int = 1, padding: Int = 0, outputPadding: Int = 0)
    throws(TeachError)
  {
    guard stride >= 1 else { throw TeachError("the stride must be at least 1, got \(stride)") }
    guard padding >= 0 else { throw TeachError("the padding must be 0 or more, got \(padding)") }
    guard outputPadding >= 0, outputPadding < stride else {
      throw TeachError(
        "output_padding must be 0 or more and below the stride \(stride) (PyTorch's rule), got \(outputPadding)")
    }
    self.image = image
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
    self.outputPadding = outputPadding
    let oh = try Self.size(image.rows, kernel.rows, stride, padding, outputPadding)
    let ow = try Self.size(image.cols, kernel.cols, stride, padding, outputPadding)
    guard try checkedTimes([oh, ow], "number of output values") <= Self.maxOutputValues else {
      throw TeachError(
        "the output would be \(oh)×\(ow) = \(grouped(oh * ow)) values; the worked answer prints every one, "
          + "so it is limited to \(grouped(Self.maxOutputValues))")
    }
    var out = [Double](repeating: 0, count: oh * ow)
    for i in 0..<image.rows {
      for j in 0..<image.cols {
        for u in 0..<kernel.rows {
          for v in 0..<kernel.cols {
            let (r, c) = (i * stride - padding + u, j * stride - padding + v)
            if r >= 0, r < oh, c >= 0, c < ow { out[r * ow + c] += image[i, j] * kernel[u, v] }
          }
        }
      }
    }
    output = Matrix(rows: oh, cols: ow, values: out)
  }

  /// `(n − 1)·s − 2·p + (k − 1) + output_padding + 1`, or an error when it is not positive.
  static func size(_ n: Int, _ k: Int, _ s: Int, _ p: Int, _ op: Int) throws(TeachError) -> Int {
    let span = try checkedSum([try checkedTimes([n - 1, s], "scattered span"), k], "scattered span")
    let out = try checkedSum([span, -2 * min(p, Int.max / 4), op], "output size")
    guard out >= 1 else {
      throw TeachError(
        "cropping 2·\(p) of the \(span) scattered values leaves \(out) (with output_padding \(op)): "
          + "no output (PyTorch raises an error)")
    }
    return out
  }

  /// The plugged-in size formula along one axis, with its value.
  func pluggedIn(_ n: Int, _ k: Int, _ out: Int) -> String {
    "(\(n) − 1)·\(stride) − 2·\(padding) + (\(k) − 1) + \(outputPadding) + 1 = \(out)"
  }

  /// The `kernel`-sized block that input `(row, col)` adds to the output, and where its top-left lands
  /// (possibly in the cropped padding, at a negative index).
  public func scattered(row: Int, col: Int) -> (block: Matrix, top: Int, left: Int) {
    let x = image[row, col]
    return (
      Matrix(rows: kernel.rows, cols: kernel.cols, values: kernel.values.map { $0 * x }),
      row * stride - padding, col * stride - padding
    )
  }

  /// The input spread out for the equivalent stride-1 convolution: `s − 1` zeros between values,
  /// `k − 1 − p` zeros around (plus `output_padding` at the bottom and right). Needs `p ≤ k − 1`.
  public var spreadInput: Matrix? {
    let (ph, pw) = (kernel.rows - 1 - padding, kernel.cols - 1 - padding)
    guard ph >= 0, pw >= 0 else { return nil }
    let rows = (image.rows - 1) * stride + 1 + 2 * ph + outputPadding
    let cols = (image.cols - 1) * stride + 1 + 2 * pw + outputPadding
    guard rows * cols <= Self.maxOutputValues else { return nil }
    var v = [Double](repeating: 0, count: rows * cols)
    for i in 0..<image.rows {
      for j in 0..<image.cols { v[(ph + i * stride) * cols + pw + j * stride] = image[i, j] }
    }
    return Matrix(rows: rows, cols: cols, values: v)
  }

  /// The kernel turned by 180°.
  public var flippedKernel: Matrix { Matrix(rows: kernel.rows, cols: kernel.cols, values: kernel.values.reversed()) }

  /// The lines of the worked answer, with the scattered block shown for input `(row, col)`; the blocks
  /// side by side when they fit `columns` columns, else one under the other.
  public func worked(row: Int, col: Int, columns: Int) -> [String] {
    let (n, m, kh, kw) = (image.rows, image.cols, kernel.rows, kernel.cols)
    var lines = [
      "Transposed convolution as nn.ConvTranspose2d computes it (one channel):",
      "  every input value x[i][j] adds x[i][j]·w[u][v] to out[i·s − p + u][j·s − p + v]:",
      "  the kernel takes 1 value and returns \(kh * kw); where blocks overlap, they add up.",
      "",
      "Image \(n)×\(m), kernel \(kh)×\(kw), stride \(stride), padding \(padding)"
        + (outputPadding > 0 ? ", output_padding \(outputPadding)" : "")
        + " → output \(output.rows)×\(output.cols)",
      "  out = (n − 1)·s − 2·p + (k − 1) + output_padding + 1",
      "  height: \(pluggedIn(n, kh, output.rows))",
      "  width:  \(pluggedIn(m, kw, output.cols))",
      "",
    ]
    let (block, top, left) = scattered(row: row, col: col)
    let x = number(image[row, col])
    lines.append(
      "Input (\(row), \(col)) = \(x) returns \(x) · kernel, added at output rows \(top)–\(top + kh - 1), "
        + "columns \(left)–\(left + kw - 1)"
        + (top < 0 || left < 0 || top + kh > output.rows || left + kw > output.cols
          ? " (the part outside 0–\(output.rows - 1) × 0–\(output.cols - 1) is cropped):" : ":"))
    lines += sideBySide(
      [.op("\(x) ·"), .block(kernel.lines), .op("="), .block(block.lines)], middle: kh / 2, width: columns)
    lines += ["", "Output (the sum of all \(n * m) blocks):"] + output.lines.map { "  " + $0 }
    if stride < max(kh, kw) {
      lines.append("  Blocks overlap because the stride \(stride) is below the kernel size: overlaps add up.")
    }
    if let spread = spreadInput {
      let (ph, pw) = (kh - 1 - padding, kw - 1 - padding)
      lines += [
        "",
        "The same output from an ordinary stride-1 convolution: spread the input with",
        "s − 1 = \(stride - 1) zero\(stride == 2 ? "" : "s") between values, pad it with k − 1 − p = "
          + "\(ph == pw ? "\(ph)" : "\(ph) (rows), \(pw) (columns)") zero\(ph == 1 && pw == 1 ? "" : "s") around,",
        (outputPadding > 0 ? "add \(outputPadding) more at the bottom and right (output_padding), " : "")
          + "and slide the kernel turned by 180°:",
      ]
      lines += sideBySide([.block(spread.lines), .op(""), .block(flippedKernel.lines)], middle: -1, width: columns)
    }
    return lines
  }
}
