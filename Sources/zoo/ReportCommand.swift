import ArgumentParser
import Foundation
import ZooFiles
import ZooFormat
import ZooGraph
import ZooReport

struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Writes the gallery: a Markdown page per model and an index comparing the whole zoo.",
    discussion: """
      The gallery is committed in reports/ and is a pure function of the definitions and the code: \
      identical inputs give identical bytes. `zoo report --check` compares reports/ with what the current \
      code writes and exits non-zero, naming the stale, missing and extra files, when they differ (docs/reports.md).
      """)

  @Argument(help: "The built-in models to write pages for (default: every model). The index is always written.")
  var models: [String] = []

  @Option(help: ArgumentHelp("The gallery folder.", valueName: "dir"))
  var out = "reports"

  @Flag(help: "Writes nothing; exits non-zero and names the files that differ from what would be written.")
  var check = false

  func validate() throws {
    let known = try Zoo.builtin().modelNames
    for m in models where !known.contains(m) {
      throw ValidationError(unknownModelMessage(m, among: known) + ".")
    }
  }

  func run() throws {
    var isDirectory: ObjCBool = false
    if check && !(FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory) && isDirectory.boolValue) {
      throw ZooError(
        "there is no `\(out)` folder here to check: run `zoo report --check` in a checkout of CNN Zoo, or give "
          + "the gallery's folder with --out")
    }
    let gallery = try Gallery(zoo: try Zoo.builtin())
    let files = try gallery.files(models: models.isEmpty ? nil : models)
    let dir = URL(fileURLWithPath: out, isDirectory: true)
    let result = GalleryCheck(files: files, in: dir, reportExtra: models.isEmpty)
    if check {
      if result.isUpToDate {
        print("\(out): \(files.count) files up to date.")
        return
      }
      var lines = ["\(out) is not what `zoo report` would write:"]
      lines += result.stale.map { "  stale:   \(out)/\($0)" }
      lines += result.missing.map { "  missing: \(out)/\($0)" }
      lines += result.extra.map { "  extra:   \(out)/\($0) (not written by zoo report; remove it)" }
      lines += result.temporary.map {
        "  temporary: \(out)/\($0) (left by an interrupted write; remove it)"
      }
      lines.append("Run `zoo report\(out == "reports" ? "" : " --out \(out)")` and commit the result.")
      FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
      throw ExitCode.failure
    }
    var written = 0
    // Figures first and the index last: a write that fails halfway leaves no page naming a figure
    // that is not there.
    for f in GalleryCheck.writingOrder(files) where result.stale.contains(f.path) || result.missing.contains(f.path) {
      let url = dir.appendingPathComponent(f.path)
      do {
        try makeFolders(url.deletingLastPathComponent().path)
        try Files.write(Array(f.contents.utf8), to: url.path)
      } catch {
        throw ZooError(
          "\(error)\nStopped after \(written) of the files to write; the index and the pages not written keep "
            + "their previous contents.")
      }
      written += 1
    }
    print("\(out): wrote \(written) of \(files.count) files (\(files.count - written) already up to date).")
    if !result.extra.isEmpty {
      print(
        "Not written by zoo report (remove them, or --check fails): "
          + result.extra.map { "\(out)/\($0)" }.joined(separator: ", "))
    }
  }
}

/// Creates the folder `path` and its missing parents; the error says in our words which one failed.
func makeFolders(_ path: String) throws {
  var st = stat()
  if stat(path, &st) == 0 {
    guard (st.st_mode & S_IFMT) == S_IFDIR else {
      throw ZooError("cannot create the folder `\(path)`: a file is in the way")
    }
    return
  }
  let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
  if parent != path { try makeFolders(parent) }
  guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
    throw ZooError("cannot create the folder `\(path)`: \(Files.problem(errno, path: path))")
  }
}
