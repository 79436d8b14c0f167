#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// An integer tuning knob from the environment (the `ZOO_…` variables, for measuring): its value
/// when it is set, parses and is at least `minimum`; nil otherwise (the caller's default applies).
func environmentInt(_ name: String, minimum: Int = 0) -> Int? {
  guard let text = getenv(name), let n = Int(String(cString: text)), n >= minimum else { return nil }
  return n
}
