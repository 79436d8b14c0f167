/// `part / whole` as a percentage with one decimal, `42.3 %`; `< 0.1 %` for a small non-zero part;
/// `–` when the whole is 0. Locale-independent, like ZooGraph's `grouped` and `compact`.
func percent(_ part: Int, of whole: Int) -> String {
  guard whole > 0 else { return "–" }
  return percent(Double(part) / Double(whole))
}

/// A fraction (0…1) as a percentage with one decimal: `0.4231` → `42.3 %`.
func percent(_ f: Double) -> String {
  let tenths = Int((f * 1000).rounded())
  if f > 0 && tenths == 0 { return "< 0.1 %" }
  return "\(tenths / 10).\(tenths % 10) %"
}
