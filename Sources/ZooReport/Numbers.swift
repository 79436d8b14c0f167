import Foundation

/// `1234567` → `1,234,567`.
func grouped(_ n: Int) -> String {
  let digits = String(n.magnitude)
  var out = ""
  for (i, c) in digits.enumerated() {
    if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
    out.append(c)
  }
  return n < 0 ? "-" + out : out
}

/// `1814083944` → `1.81 G` (same rule as `zoo describe`).
func compact(_ n: Int) -> String {
  let units: [(Double, String)] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
  let d = Double(n)
  for (scale, unit) in units where d >= scale {
    return String(format: "%.2f %@", d / scale, unit)
  }
  return String(n)
}

/// `part / whole` as a percentage with one decimal: `42.3 %`; `–` when the whole is 0.
func percent(_ part: Int, of whole: Int) -> String {
  guard whole > 0 else { return "–" }
  if part > 0 && Double(part) / Double(whole) < 0.0005 { return "< 0.1 %" }
  return String(format: "%.1f %%", 100 * Double(part) / Double(whole))
}

/// `[64, 56, 56]` → `64×56×56`.
func shape(_ s: [Int]) -> String { s.map(String.init).joined(separator: "×") }
