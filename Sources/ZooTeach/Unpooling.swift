import ZooGraph

/// A max-pool and max-unpool round trip worked by hand (SegNet, DeepPainter): the pool remembers where
/// each maximum came from in "switch variables", and the unpool puts every maximum back at its switch,
/// with zeros everywhere else.
///
/// Pooling is `nn.MaxPool2d(kernel, stride)` without padding; the output size per axis is
/// `floor((n − k)/s) + 1` (``OutputSize``), and among equal values the first in row-major order wins, as in
/// PyTorch. The unpool's output has the pool's input size, as SegNet passes `output_size`;
/// `nn.MaxUnpool2d`'s default size `(out − 1)·s + k` is smaller when the pool dropped rows or columns.
public struct WorkedUnpooling: Sendable {
  /// One switch: the image position its window's maximum came from.
  public struct Switch: Sendable, Hashable, Encodable {
    public var row: Int
    public var col: Int
    /// `row · width + col`: the flat index `nn.MaxPool2d(return_indices=True)` returns.
    public var index: Int
  }

  public var image: Matrix
  public var kernel: Int
  public var stride: Int
  public var height: OutputSize
  public var width: OutputSize
  public var pooled: Matrix
  /// One switch per pooled value, row-major.
  public var switches: [Switch]
  public var unpooled: Matrix
  /// `(out − 1)·s + k` along each axis: `nn.MaxUnpool2d`'s output size without `output_size`.
  public var defaultUnpoolSize: [Int]

  public init(image: Matrix, kernel: Int, stride: Int? = nil) throws(TeachError) {
    let s = stride ?? kernel
    guard image.rows * image.cols <= WorkedConvolution.maxOutputValues else {
      throw TeachError(
        "the image has \(grouped(image.rows * image.cols)) values; the worked answer prints every one, "
          + "so it is limited to \(grouped(WorkedConvolution.maxOutputValues))")
    }
    self.image = image
    self.kernel = kernel
    self.stride = s
    height = try OutputSize(input: image.rows, kernel: kernel, stride: s)
    width = try OutputSize(input: image.cols, kernel: kernel, stride: s)
    var values: [Double] = []
    var switches: [Switch] = []
    for i in 0..<height.output {
      for j in 0..<width.output {
        var best = (row: i * s, col: j * s)
        for u in 0..<kernel {
          for v in 0..<kernel where image[i * s + u, j * s + v] > image[best.row, best.col] {
            best = (i * s + u, j * s + v)
          }
        }
        values.append(image[best.row, best.col])
        switches.append(Switch(row: best.row, col: best.col, index: best.row * image.cols + best.col))
      }
    }
    pooled = Matrix(rows: height.output, cols: width.output, values: values)
    self.switches = switches
    var back = [Double](repeating: 0, count: image.rows * image.cols)
    for (x, sw) in zip(values, switches) { back[sw.index] = x }
    unpooled = Matrix(rows: image.rows, cols: image.cols, values: back)
    defaultUnpoolSize = [(height.output - 1) * s + kernel, (width.output - 1) * s + kernel]
  }

  /// The image positions no window covers (dropped by the floor in the output size).
  public var uncovered: (rows: Int, cols: Int) {
    (image.rows - ((height.output - 1) * stride + kernel), image.cols - ((width.output - 1) * stride + kernel))
  }

  /// The lines of the worked answer, its tables and matrices fitted to `columns` columns (the prose is
  /// left for the caller to wrap).
  public func worked(columns: Int) -> [String] {
    var lines = [
      "Max pooling \(kernel)×\(kernel), stride \(stride), on a \(image.rows)×\(image.cols) image, keeping the "
        + "switches (where each maximum came from):",
      "  height: \(height.pluggedIn)",
      "  width:  \(width.pluggedIn)",
      "",
      "Image (rows and columns counted from 0):",
    ]
    lines += image.lines.map { "  " + $0 }
    lines += ["", "Pooled \(pooled.rows)×\(pooled.cols), and the switch of each value:"]
    let switchLines = (0..<pooled.rows).map { r in
      (0..<pooled.cols).map { c -> String in
        let s = switches[r * pooled.cols + c]
        return "(\(s.row), \(s.col))"
      }.joined(separator: " ")
    }
    lines += sideBySide([.block(pooled.lines), .op(""), .block(switchLines)], middle: -1, width: columns)
    let ties = zip(pooled.values, switches).enumerated().filter { i, pair in
      let (r, c) = (i / pooled.cols * stride, i % pooled.cols * stride)
      var count = 0
      for u in 0..<kernel {
        for v in 0..<kernel where image[r + u, c + v] == pair.0 { count += 1 }
      }
      return count > 1
    }
    if let (i, pair) = ties.first {
      lines.append(
        "  The window of pooled (\(i / pooled.cols), \(i % pooled.cols)) holds \(number(pair.0)) more than once; "
          + "the first in row order wins, as in PyTorch.")
    }
    let (dr, dc) = uncovered
    if dr > 0 || dc > 0 {
      var parts: [String] = []
      if dr > 0 { parts.append("the last \(dr) row\(dr == 1 ? "" : "s")") }
      if dc > 0 { parts.append("the last \(dc) column\(dc == 1 ? "" : "s")") }
      lines.append("  No window covers \(parts.joined(separator: " and ")) (the floor in the output size).")
    }
    lines += [
      "",
      "Max unpooling: each pooled value goes back to its switch, every other position gets 0",
      "(output \(unpooled.rows)×\(unpooled.cols), the pool's input size):",
    ]
    lines += unpooled.lines.map { "  " + $0 }
    let kept = switches.count
    lines += [
      "",
      "\(kept) of \(image.rows * image.cols) values come back. The switches cost one index per pooled value",
      "(\(kept) here; PyTorch stores them as int64).",
    ]
    if defaultUnpoolSize != [image.rows, image.cols] {
      lines += [
        "nn.MaxUnpool2d without output_size gives (out − 1)·s + k = "
          + "\(defaultUnpoolSize[0])×\(defaultUnpoolSize[1]);",
        "pass output_size=(\(image.rows), \(image.cols)) to get the pool's input size back.",
      ]
    }
    return lines
  }
}
