import ZooGraph

/// A small matrix of numbers, row-major.
public struct Matrix: Sendable, Hashable, Encodable {
  public var rows: Int
  public var cols: Int
  public var values: [Double]

  public init(rows: Int, cols: Int, values: [Double]) {
    precondition(values.count == rows * cols, "a \(rows)×\(cols) matrix needs \(rows * cols) values")
    self.rows = rows
    self.cols = cols
    self.values = values
  }

  /// Parses rows separated by `;` (or new lines) and values separated by spaces or commas:
  /// `"1 2 3; 4 5 6"`. `what` names the matrix in error messages.
  public init(parsing text: String, what: String) throws(TeachError) {
    let lines = text.split(whereSeparator: { $0 == ";" || $0 == "\n" }).map {
      $0.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" })
    }.filter { !$0.isEmpty }
    guard let first = lines.first else { throw TeachError("the \(what) `\(text)` has no values") }
    var values: [Double] = []
    for (r, line) in lines.enumerated() {
      guard line.count == first.count else {
        throw TeachError(
          "every row of the \(what) needs the same number of values: row 1 has \(first.count), "
            + "row \(r + 1) (`\(line.joined(separator: " "))`) has \(line.count)")
      }
      for v in line {
        guard let x = Double(v), x.isFinite else {
          throw TeachError("the \(what) holds `\(v)`, which is not a number (row \(r + 1))")
        }
        values.append(x)
      }
    }
    self.init(rows: lines.count, cols: first.count, values: values)
  }

  public subscript(r: Int, c: Int) -> Double { values[r * cols + c] }

  /// The rows as nested arrays (the JSON form).
  public var nested: [[Double]] { (0..<rows).map { r in Array(values[r * cols..<(r + 1) * cols]) } }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(nested)
  }

  /// The matrix as right-aligned text lines.
  public var lines: [String] {
    let cells = values.map(number)
    let w = cells.map(\.count).max() ?? 0
    return (0..<rows).map { r in
      (0..<cols).map { c in
        let s = cells[r * cols + c]
        return String(repeating: " ", count: w - s.count) + s
      }.joined(separator: " ")
    }
  }
}

/// `66.0` → `66`, `0.5` → `0.5`, `-0.0` → `0`.
func number(_ x: Double) -> String {
  if x == x.rounded() && abs(x) < 1e15 { return String(Int(x)) }
  return "\(x)"
}

/// A convolution worked by hand, as the lecture notes do it: every output value, and the
/// element-wise products of the kernel and the image window for one output position.
///
/// `out[i][j] = Σ_u Σ_v x[i·s − p + u][j·s − p + v] · w[u][v]`, with `x` zero outside the image:
/// cross-correlation, which is what `nn.Conv2d` computes (the kernel is not flipped). The output size
/// per axis is `floor((n + 2·p − k)/s) + 1` (``OutputSize``).
public struct WorkedConvolution: Sendable {
  public var image: Matrix
  public var kernel: Matrix
  public var stride: Int
  public var padding: Int
  public var height: OutputSize
  public var width: OutputSize
  public var output: Matrix

  /// The most output values the worked answer prints.
  public static let maxOutputValues = 10_000

  public init(image: Matrix, kernel: Matrix, stride: Int = 1, padding: Int = 0) throws(TeachError) {
    self.image = image
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
    height = try OutputSize(input: image.rows, kernel: kernel.rows, stride: stride, padding: padding)
    width = try OutputSize(input: image.cols, kernel: kernel.cols, stride: stride, padding: padding)
    let (oh, ow) = (height.output, width.output)
    guard try checkedTimes([oh, ow], "number of output values") <= Self.maxOutputValues else {
      throw TeachError(
        "the output would be \(oh)×\(ow) = \(grouped(oh * ow)) values; the worked answer prints every one, "
          + "so it is limited to \(grouped(Self.maxOutputValues))")
    }
    var out: [Double] = []
    out.reserveCapacity(oh * ow)
    let (img, ker, s, p) = (image, kernel, stride, padding)
    for i in 0..<oh {
      for j in 0..<ow {
        var sum = 0.0
        for u in 0..<ker.rows {
          for v in 0..<ker.cols {
            sum += Self.pixel(img, i * s - p + u, j * s - p + v) * ker[u, v]
          }
        }
        out.append(sum)
      }
    }
    output = Matrix(rows: oh, cols: ow, values: out)
  }

  /// The image value at a padded position: 0 outside the image.
  static func pixel(_ m: Matrix, _ r: Int, _ c: Int) -> Double {
    r < 0 || c < 0 || r >= m.rows || c >= m.cols ? 0 : m[r, c]
  }

  /// The image (padded with zeros) under the kernel when it produces output `(row, col)`.
  public func window(row: Int, col: Int) -> Matrix {
    var v: [Double] = []
    for u in 0..<kernel.rows {
      for w in 0..<kernel.cols {
        v.append(Self.pixel(image, row * stride - padding + u, col * stride - padding + w))
      }
    }
    return Matrix(rows: kernel.rows, cols: kernel.cols, values: v)
  }

  /// The element-wise products of ``window(row:col:)`` and the kernel; they sum to `output[row, col]`.
  public func products(row: Int, col: Int) -> Matrix {
    let w = window(row: row, col: col)
    return Matrix(rows: kernel.rows, cols: kernel.cols, values: zip(w.values, kernel.values).map(*))
  }

  /// The image padded with `padding` zeros on every side.
  public var paddedImage: Matrix {
    let (r, c) = (image.rows + 2 * padding, image.cols + 2 * padding)
    var v: [Double] = []
    for i in 0..<r {
      for j in 0..<c { v.append(Self.pixel(image, i - padding, j - padding)) }
    }
    return Matrix(rows: r, cols: c, values: v)
  }

  /// The lines of the worked answer, with the products shown for output `(row, col)`; the window, kernel
  /// and products side by side when they fit `columns` columns, else one under the other.
  public func worked(row: Int, col: Int, columns: Int) -> [String] {
    var lines = [
      "Convolution as nn.Conv2d computes it (cross-correlation: the kernel is not flipped):",
      "  out[i][j] = Σ_u Σ_v x[i·s + u][j·s + v] · w[u][v]   (x padded with p zeros on every side)",
      "",
      "Image \(image.rows)×\(image.cols), kernel \(kernel.rows)×\(kernel.cols), stride \(stride), "
        + "padding \(padding) → output \(output.rows)×\(output.cols)",
      "  height: \(height.pluggedIn)",
      "  width:  \(width.pluggedIn)",
      "",
    ]
    let paddedCount = try? checkedTimes(
      [
        try checkedSum([image.rows, padding, padding], "padded height"),
        try checkedSum([image.cols, padding, padding], "padded width"),
      ], "padded image size")
    if padding > 0, let paddedCount, paddedCount <= Self.maxOutputValues {
      lines += ["Padded image:"] + paddedImage.lines.map { "  " + $0 } + [""]
    }
    lines += ["Output:"] + output.lines.map { "  " + $0 } + [""]
    let r0 = row * stride
    let c0 = col * stride
    let place = padding > 0 ? "of the padded image" : "of the image"
    lines.append(
      "Output (\(row), \(col)): the kernel covers rows \(r0)–\(r0 + kernel.rows - 1), "
        + "columns \(c0)–\(c0 + kernel.cols - 1) \(place) (counting from 0):")
    let products = products(row: row, col: col)
    lines += sideBySide(
      [.block(window(row: row, col: col).lines), .op("⊙"), .block(kernel.lines), .op("="), .block(products.lines)],
      middle: kernel.rows / 2, width: columns)
    var sum = ""
    for (i, x) in products.values.enumerated() {
      if i == 0 {
        sum = number(x)
      } else {
        sum += x < 0 ? " − \(number(-x))" : " + \(number(x))"
      }
    }
    lines.append("  \(sum) = \(number(output[row, col]))")
    return lines
  }
}
