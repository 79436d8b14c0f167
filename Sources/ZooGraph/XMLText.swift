/// Text escaped for an XML or HTML element or attribute value (SVG, Graphviz's HTML-like labels, the
/// explorer page): `&`, `<`, `>` and `"` become entities.
public func xmlEscaped(_ s: String) -> String {
  var out = ""
  for c in s {
    switch c {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    default: out.append(c)
    }
  }
  return out
}
