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

/// `text` shortened to `width` characters by an ellipsis in the middle, keeping both ends of a module
/// path (`features.denseblock4…denselayer16.conv2`).
public func middleEllipsis(_ text: String, _ width: Int) -> String {
  guard text.count > width, width >= 5 else { return text }
  let keep = width - 1
  let head = keep / 2
  return String(text.prefix(head)) + "…" + String(text.suffix(keep - head))
}

/// A fraction (0…1) as a percentage, the one style of the CLI, the gallery, the charts and the explorer:
/// no space before the sign, `0.4231` → `42.3%` with `decimals` 1; `<0.1%` for a small non-zero fraction
/// that would round to zero. Rounded half away from zero, without Foundation, so reports are
/// byte-reproducible.
public func percent(_ fraction: Double, decimals: Int = 1) -> String {
  precondition(decimals >= 0 && decimals <= 6, "percent: 0 to 6 decimals")
  var scale = 1
  for _ in 0..<decimals { scale *= 10 }
  let units = Int((abs(fraction) * 100 * Double(scale)).rounded())
  let smallest = decimals == 0 ? "1" : "0." + String(repeating: "0", count: decimals - 1) + "1"
  if fraction != 0 && units == 0 { return (fraction < 0 ? ">-" : "<") + smallest + "%" }
  let whole = String(units / scale)
  let frac = String(units % scale)
  let digits = decimals == 0 ? whole : whole + "." + String(repeating: "0", count: decimals - frac.count) + frac
  return (fraction < 0 ? "-" : "") + digits + "%"
}
