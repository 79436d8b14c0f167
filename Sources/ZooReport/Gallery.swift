import Foundation
import ZooAnalysis
import ZooFiles
import ZooFormat
import ZooGraph
import ZooPlot

/// A generated file of the gallery: its path inside the gallery folder and its exact contents.
public struct ReportFile: Sendable, Hashable {
  public var path: String
  public var contents: String

  public init(path: String, contents: String) {
    self.path = path
    self.contents = contents
  }
}

/// The committed gallery (`reports/`): one page per model and an index comparing them.
///
/// Everything is computed from the definitions, so identical definitions and code give identical
/// bytes: no timestamps, no machine paths, a fixed order (the zoo's).
public struct Gallery: Sendable {
  public var pages: [ModelPage]

  /// Analyses every model of `zoo` at its own input.
  public init(zoo: Zoo) throws {
    var pages: [ModelPage] = []
    for file in zoo.files {
      for m in file.models {
        let graph = try file.graph(m)
        do {
          pages.append(
            try ModelPage(summary: try Summary(graph), paper: file.paper, links: file.links, definitionPath: file.path))
        } catch {
          throw GalleryError("\(m.name): \(error)")
        }
      }
    }
    self.pages = pages
  }

  /// The index page, `README.md`, and its scatter plot.
  public func index() throws -> [ReportFile] {
    let page = IndexPage(pages: pages)
    return [
      ReportFile(path: "README.md", contents: page.markdown),
      ReportFile(path: IndexPage.scatterPath, contents: try svgText(page.scatter)),
    ]
  }

  /// Every file of the gallery, or only the pages of `models` (and the index) when given.
  public func files(models: [String]? = nil) throws -> [ReportFile] {
    var chosen = pages
    if let models {
      chosen = []
      for name in models {
        guard let p = pages.first(where: { $0.summary.graph.name == name }) else {
          throw GalleryError("unknown model `\(name)`; `zoo list` shows the built-in models")
        }
        chosen.append(p)
      }
    }
    var files = try index()
    for p in chosen {
      files.append(ReportFile(path: p.fileName, contents: p.markdown))
      files += try p.figures()
    }
    return files
  }
}

/// A gallery folder compared with what the current code writes.
public struct GalleryCheck: Sendable, Equatable {
  /// Files whose contents differ.
  public var stale: [String] = []
  /// Files the gallery has but the folder lacks.
  public var missing: [String] = []
  /// Files in the folder the gallery does not write (only when the whole gallery is checked).
  public var extra: [String] = []
  /// Temporary files an interrupted write left in the folder (zoo's, cairo's or Foundation's), hidden or
  /// not, always listed.
  public var temporary: [String] = []

  public var isUpToDate: Bool { stale.isEmpty && missing.isEmpty && extra.isEmpty && temporary.isEmpty }

  /// Compares `files` with the folder `dir`, byte for byte. `reportExtra` also lists the files of
  /// `dir` (recursively, hidden files aside) that are not among `files`.
  public init(files: [ReportFile], in dir: URL, reportExtra: Bool) {
    let fm = FileManager.default
    for f in files {
      let url = dir.appendingPathComponent(f.path)
      guard let data = fm.contents(atPath: url.path) else {
        missing.append(f.path)
        continue
      }
      if data != Data(f.contents.utf8) { stale.append(f.path) }
    }
    temporary = Self.listFiles(dir, hidden: true).filter {
      Files.isTemporaryName(URL(fileURLWithPath: $0).lastPathComponent)
    }
    guard reportExtra else { return }
    let expected = Set(files.map(\.path))
    extra = Self.listFiles(dir).filter { !expected.contains($0) && !temporary.contains($0) }
  }

  /// `files` in the order they must be written so that no page names a figure that is not there yet:
  /// figures first, then the model pages, the index page (`README.md`) last.
  public static func writingOrder(_ files: [ReportFile]) -> [ReportFile] {
    func rank(_ f: ReportFile) -> Int { f.path == "README.md" ? 2 : f.path.hasSuffix(".md") ? 1 : 0 }
    return files.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }
      .map(\.element)
  }

  /// The relative paths of the regular files under `dir`, sorted; hidden files and folders skipped
  /// unless `hidden`.
  static func listFiles(_ dir: URL, hidden: Bool = false) -> [String] {
    let fm = FileManager.default
    guard
      let e = fm.enumerator(
        at: dir, includingPropertiesForKeys: [.isRegularFileKey], options: hidden ? [] : [.skipsHiddenFiles])
    else { return [] }
    let base = dir.standardizedFileURL.path
    var out: [String] = []
    for case let url as URL in e {
      guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
      let p = url.standardizedFileURL.path
      out.append(p.hasPrefix(base + "/") ? String(p.dropFirst(base.count + 1)) : url.lastPathComponent)
    }
    return out.sorted()
  }
}

/// A gallery failure, with the model or file involved.
public struct GalleryError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
