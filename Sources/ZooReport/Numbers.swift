import ZooGraph

/// `part / whole` as a percentage with one decimal (ZooGraph's ``percent(_:decimals:)``: `42.3%`, `<0.1%`
/// for a small non-zero part); `–` when the whole is 0.
func percent(_ part: Int, of whole: Int) -> String {
  guard whole > 0 else { return "–" }
  return percent(Double(part) / Double(whole))
}
