/// Number formatting shared by tables, diagrams and reports. No Foundation formatting: the text is
/// locale-independent, so reports are byte-reproducible.

/// `1234567` → `1,234,567`.
public func grouped(_ n: Int) -> String {
  let digits = String(n.magnitude)
  var out = ""
  for (i, c) in digits.enumerated() {
    if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
    out.append(c)
  }
  return n < 0 ? "-" + out : out
}

/// `1814083944` → `1.81 G`: two decimals, rounded half up, with k, M, G, T.
public func compact(_ n: Int) -> String {
  let units: [(Int, String)] = [(1_000_000_000_000, "T"), (1_000_000_000, "G"), (1_000_000, "M"), (1000, "k")]
  for (scale, unit) in units where n >= scale {
    let hundredths = n / scale * 100 + (n % scale * 100 + scale / 2) / scale
    let frac = hundredths % 100
    return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac) \(unit)"
  }
  return String(n)
}
