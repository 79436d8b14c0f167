import Foundation
import Testing

/// The README's tour shows today's output: each `$ zoo …` it shows is run (piped, so 100 columns) and
/// its shown lines must be the output's, in order. A line `...` stands for lines left out.
@Suite("README")
struct ReadmeTests {
  /// A command shown in the README with the lines shown after it.
  struct Shown {
    var args: [String]
    var lines: [String]
  }

  /// The `$ zoo …` commands of the README's plain code blocks, with their shown output; a comment after
  /// `#` is not part of the command.
  static func shownCommands() throws -> [Shown] {
    let text = try String(contentsOf: repoRoot.appendingPathComponent("README.md"), encoding: .utf8)
    var shown: [Shown] = []
    var inFence = false
    var plain = false
    var current: Shown?
    for line in text.components(separatedBy: "\n") {
      if line.hasPrefix("```") {
        if let c = current { shown.append(c) }
        current = nil
        plain = !inFence && line == "```"
        inFence.toggle()
        continue
      }
      guard inFence && plain else { continue }
      if line.hasPrefix("$ ") {
        if let c = current { shown.append(c) }
        var command = String(line.dropFirst(2))
        if let hash = command.range(of: "  #") { command = String(command[..<hash.lowerBound]) }
        let words = command.split(separator: " ").map(String.init)
        current = words.first == "zoo" ? Shown(args: Array(words.dropFirst()), lines: []) : nil
      } else {
        current?.lines.append(line)
      }
    }
    return shown
  }

  /// Whether `lines` (with `...` for lines left out) are `output`'s lines: each run between `...` lines is
  /// consecutive in the output, the runs in order, and the first and last runs at the output's ends unless
  /// a `...` stands there.
  static func matches(_ lines: [String], _ output: [String]) -> Bool {
    var runs: [[String]] = [[]]
    for l in lines {
      if l == "..." { runs.append([]) } else { runs[runs.count - 1].append(l) }
    }
    var at = 0
    for (i, run) in runs.enumerated() where !run.isEmpty {
      let anchored = i == 0
      var found: Int?
      var start = at
      while start + run.count <= output.count {
        if Array(output[start..<start + run.count]) == run {
          found = start
          break
        }
        if anchored { break }
        start += 1
      }
      guard let f = found else { return false }
      at = f + run.count
      if i == runs.count - 1 && at != output.count { return false }
    }
    return true
  }

  @Test func tourShowsTodaysOutput() throws {
    let shown = try Self.shownCommands()
    var checked = 0
    for s in shown {
      // Timings, files the reader makes (a definition, weights) and pipes are not reproducible here.
      guard let command = s.args.first, !["bench", "run", "export"].contains(command),
        !s.args.contains(where: { $0.contains(".") || $0 == "|" })
      else { continue }
      let r = try runZoo(s.args)
      let output = r.out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
      let trimmed = output.last == "" ? Array(output.dropLast()) : output
      #expect(
        Self.matches(s.lines, trimmed),
        "README shows for zoo \(s.args.joined(separator: " ")):\n\(s.lines.joined(separator: "\n"))\nbut it prints:\n\(r.out)"
      )
      checked += 1
    }
    #expect(checked >= 6, "only \(checked) README commands checked")
  }

  /// The matcher itself: runs in order, consecutive, anchored at the ends unless `...` stands there.
  @Test func matcherRejectsWhatIsNotShown() {
    let out = ["a", "b", "c", "d"]
    #expect(Self.matches(["a", "b", "c", "d"], out))
    #expect(Self.matches(["a", "...", "d"], out))
    #expect(Self.matches(["...", "b", "c", "..."], out))
    #expect(!Self.matches(["a", "c", "...", "d"], out))
    #expect(!Self.matches(["b", "...", "d"], out))
    #expect(!Self.matches(["a", "...", "c"], out))
    #expect(!Self.matches(["...", "c", "b", "..."], out))
  }
}
