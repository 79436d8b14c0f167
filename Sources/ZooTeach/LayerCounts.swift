import ZooGraph

/// The output shape and counts of one layer on one input, by ZooGraph's rules (what `zoo describe`
/// prints), with shape and overflow errors turned into lesson errors.
func layerCounts(_ op: Op, input: [Int]) throws(TeachError) -> (output: [Int], counts: Counts) {
  let node = Node(id: 0, name: "layer", op: op, inputs: [])
  do {
    let output = try op.outputShape([input])
    return (output, try node.counts(inputs: [input], output: output))
  } catch let e as ShapeError {
    throw TeachError(e.message)
  } catch {
    throw TeachError("\(error)")
  }
}

/// The checks every one-layer lesson makes: a `C×H×W` input of positive sizes and at least one filter.
func checkLayer(input: [Int], filters: Int) throws(TeachError) {
  guard input.count == 3, input.allSatisfy({ $0 >= 1 }) else {
    throw TeachError("the input must be three positive sizes C×H×W, got \(shapeText(input))")
  }
  guard filters >= 1 else { throw TeachError("the number of filters must be at least 1, got \(filters)") }
}

/// `a / b` as a ratio for the worked text: `8.69`, or a whole number from 100 on.
func ratio(_ a: Int, _ b: Int) -> String {
  guard b > 0 else { return "∞" }
  let r = Double(a) / Double(b)
  if r >= 100 { return grouped(Int(r.rounded())) }
  let hundredths = Int((r * 100).rounded())
  let frac = hundredths % 100
  return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
}

/// `[3, 32, 32]` → `3×32×32`.
func shapeText(_ s: [Int]) -> String { s.map(String.init).joined(separator: "×") }
