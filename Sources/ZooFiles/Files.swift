import Foundation

#if canImport(Glibc)
  import Glibc
  private let systemRead = Glibc.read
  private let systemWrite = Glibc.write
#elseif canImport(Darwin)
  import Darwin
  private let systemRead = Darwin.read
  private let systemWrite = Darwin.write
#endif

/// A file that cannot be read or written, said in the project's words and naming the path.
public struct FileError: Error, Sendable, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// Reading inputs and writing outputs: every file zoo writes goes through ``Files/write(_:to:what:)``.
///
/// A write goes to a temporary file beside the target, named `.NAME.zoo-tmp-PID-N`, which is renamed over
/// the target once complete and removed on every error path; a SIGINT, SIGTERM or SIGHUP that arrives
/// while it is open removes it too, so an interrupted command leaves either the old file or the new one,
/// never a partial file or a stray temporary one. Errors never show Foundation's texts: they say what is
/// wrong with the path (missing, a folder, not writable) and name it.
public enum Files {
  /// The marker in the name of every temporary file zoo writes.
  public static let temporaryMarker = ".zoo-tmp-"

  /// Whether `name` (a file name, not a path) is one of zoo's temporary files, or one that
  /// Foundation's atomic writes or cairo leave behind when a process is killed mid-write.
  public static func isTemporaryName(_ name: String) -> Bool {
    name.contains(temporaryMarker) || name.hasSuffix(".tmp") || name.hasPrefix(".dat.nosync")  // swift-foundation
      || name.range(of: #"\.tmp\.[A-Za-z0-9]{6}$"#, options: .regularExpression) != nil  // older corelibs Foundation
  }

  // MARK: Reading

  /// The whole contents of the regular file at `path`; `what` names it in errors ("the image"). A file
  /// larger than `maxBytes` is refused before it is read, with `why` saying where the limit comes from.
  public static func read(_ path: String, what: String, maxBytes: Int = .max, why: String = "")
    throws(FileError) -> [UInt8]
  {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileError("cannot read \(what) `\(path)`: \(problem(errno, path: path))") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
      throw FileError("cannot read \(what) `\(path)`: \(problem(errno, path: path))")
    }
    guard (st.st_mode & S_IFMT) == S_IFREG else {
      throw FileError("cannot read \(what) `\(path)`: \(kind(st.st_mode)), not a file")
    }
    let size = Int(st.st_size)
    guard size <= maxBytes else {
      throw FileError("cannot read \(what) `\(path)`: it has \(size) bytes, more than the \(maxBytes) \(why)")
    }
    var bytes = [UInt8](repeating: 0, count: size)
    var done = 0
    while done < size {
      let n = bytes.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress! + done, size - done) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else {
        throw FileError(
          "cannot read \(what) `\(path)`: "
            + (n < 0 ? problem(errno, path: path) : "it ended after \(done) of its \(size) bytes"))
      }
      done += n
    }
    return bytes
  }

  /// A reason in our words for an `errno` met while opening or reading `path`.
  public static func problem(_ code: Int32, path: String) -> String {
    switch code {
    case ENOENT:
      let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
      var isFolder: ObjCBool = false
      if !FileManager.default.fileExists(atPath: parent, isDirectory: &isFolder) {
        return "there is no folder `\(parent)`"
      }
      return "there is no such file"
    case EACCES, EPERM: return "permission denied"
    case EISDIR: return "it is a folder, not a file"
    case ENOTDIR: return "a part of the path is not a folder"
    case ENOSPC: return "the disk is full"
    case EROFS: return "the file system is read-only"
    case ENAMETOOLONG: return "the path is too long"
    case ELOOP: return "too many symbolic links"
    default: return String(cString: strerror(code)).lowercased()
    }
  }

  private static func kind(_ mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFDIR: return "it is a folder"
    case S_IFIFO: return "it is a pipe"
    case S_IFSOCK: return "it is a socket"
    case S_IFCHR, S_IFBLK: return "it is a device"
    default: return "it is not a regular file"
    }
  }

  // MARK: Writing

  /// Writes `bytes` to `path` atomically (see ``Files``); `what` names the file in errors ("the diagram").
  public static func write(_ bytes: some Collection<UInt8>, to path: String, what: String = "")
    throws(FileError)
  {
    let contiguous = Array(bytes)
    var failure: FileError? = nil
    contiguous.withUnsafeBytes { raw in
      do throws(FileError) { try write(raw: raw, to: path, what: what) } catch { failure = error }
    }
    if let failure { throw failure }
  }

  /// Writes the bytes of `raw` to `path` atomically (see ``Files``).
  public static func write(raw: UnsafeRawBufferPointer, to path: String, what: String = "") throws(FileError) {
    let label = what.isEmpty ? "`\(path)`" : "\(what) `\(path)`"
    try checkWritable(path, label: label)
    let temp = temporaryPath(for: path)
    let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw FileError("cannot write \(label): \(problem(errno, path: temp))") }
    let slot = TemporaryFiles.shared.add(temp)
    if pauseMilliseconds > 0 { usleep(UInt32(pauseMilliseconds) * 1000) }
    var failure: String? = nil
    var done = 0
    while done < raw.count {
      let n = systemWrite(fd, raw.baseAddress! + done, raw.count - done)
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else {
        failure = n < 0 ? problem(errno, path: temp) : "nothing more could be written"
        break
      }
      done += n
    }
    if close(fd) != 0 && failure == nil { failure = problem(errno, path: temp) }
    if failure == nil && rename(temp, path) != 0 { failure = problem(errno, path: path) }
    if let failure {
      unlink(temp)
      TemporaryFiles.shared.remove(slot)
      throw FileError("cannot write \(label): \(failure)")
    }
    TemporaryFiles.shared.remove(slot)
  }

  /// Throws when `path` cannot be an output (its folder is missing, or it names a folder), so that a
  /// command can say so before doing its work; `what` names the file ("the .npy array").
  public static func requireWritable(_ path: String, what: String = "") throws(FileError) {
    try checkWritable(path, label: what.isEmpty ? "`\(path)`" : "\(what) `\(path)`")
  }

  static func checkWritable(_ path: String, label: String) throws(FileError) {
    guard !path.isEmpty else { throw FileError("cannot write \(label): the path is empty") }
    let url = URL(fileURLWithPath: path)
    let parent = url.deletingLastPathComponent().path
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: parent, isDirectory: &isFolder) else {
      throw FileError("cannot write \(label): there is no folder `\(parent)`")
    }
    guard isFolder.boolValue else { throw FileError("cannot write \(label): `\(parent)` is not a folder") }
    var st = stat()
    if stat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG {
      throw FileError("cannot write \(label): \(kind(st.st_mode)), not a file")
    }
  }

  private static let counter = Counter()

  /// `ZOO_TEST_WRITE_PAUSE_MS`: a pause between creating a temporary file and writing it, so that tests
  /// can signal a process mid-write. 0 (no pause) unless set.
  static let pauseMilliseconds: Int = {
    guard let text = ProcessInfo.processInfo.environment["ZOO_TEST_WRITE_PAUSE_MS"], let ms = Int(text) else {
      return 0
    }
    return min(max(ms, 0), 60_000)
  }()

  /// `DIR/.NAME.zoo-tmp-PID-N`: beside the target (so the rename stays on one file system), hidden, and
  /// recognisable by ``isTemporaryName(_:)``.
  static func temporaryPath(for path: String) -> String {
    let url = URL(fileURLWithPath: path)
    let name = ".\(url.lastPathComponent)\(temporaryMarker)\(getpid())-\(counter.next())"
    return url.deletingLastPathComponent().appendingPathComponent(name).path
  }

  // MARK: Distinct paths

  /// Throws when two of `outputs` name one file, or an output names the same file as one of `inputs`
  /// (compared by device and inode when the file exists, else by the resolved path), so that no command
  /// overwrites its own input or silently loses one of two outputs. Each pair is (option, path).
  public static func requireDistinct(outputs: [(String, String)], inputs: [(String, String)] = [])
    throws(FileError)
  {
    let outs = outputs.map { ($0.0, $0.1, identity($0.1)) }
    let ins = inputs.map { ($0.0, $0.1, identity($0.1)) }
    for (i, a) in outs.enumerated() {
      for b in outs[..<i] where a.2 == b.2 {
        throw FileError(
          "\(b.0) `\(b.1)` and \(a.0) `\(a.1)` name the same file; one would overwrite the other: give two paths")
      }
      for b in ins where a.2 == b.2 {
        throw FileError(
          "\(a.0) `\(a.1)` is the same file as \(b.0) `\(b.1)`; writing it would destroy the input: "
            + "give another path")
      }
    }
  }

  /// The file's device and inode when it exists, else its path with the folder resolved.
  private static func identity(_ path: String) -> String {
    var st = stat()
    if stat(path, &st) == 0 { return "inode \(st.st_dev):\(st.st_ino)" }
    let url = URL(fileURLWithPath: path)
    let parent = url.deletingLastPathComponent().path
    var folder = stat()
    if stat(parent, &folder) == 0 {
      return "inode \(folder.st_dev):\(folder.st_ino)/\(url.lastPathComponent)"
    }
    return "path " + url.standardizedFileURL.resolvingSymlinksInPath().path
  }
}

/// A thread-safe counter for temporary file names.
private final class Counter: @unchecked Sendable {
  private var value = 0
  private let lock = NSLock()
  func next() -> Int {
    lock.lock()
    defer { lock.unlock() }
    value += 1
    return value
  }
}

/// The temporary files being written, in a fixed table of C strings that a signal handler can walk
/// without allocating or locking: SIGINT, SIGTERM and SIGHUP unlink every one, then end the process
/// as the signal would have.
public final class TemporaryFiles: @unchecked Sendable {
  public static let shared = TemporaryFiles()

  static let slots = 64
  static let slotSize = 4096
  private let lock = NSLock()
  private var used = [Bool](repeating: false, count: TemporaryFiles.slots)
  private var installed = false

  private init() {
    let table = UnsafeMutablePointer<CChar>.allocate(capacity: Self.slots * Self.slotSize)
    table.initialize(repeating: 0, count: Self.slots * Self.slotSize)
    temporaryTable = table
  }

  /// Records `path` so that a signal removes it; returns its slot (nil when the table is full or the
  /// path too long, in which case only the error paths remove it).
  public func add(_ path: String) -> Int? {
    let bytes = Array(path.utf8)
    guard bytes.count < Self.slotSize, let table = temporaryTable else { return nil }
    lock.lock()
    defer { lock.unlock() }
    if !installed {
      installed = true
      // Signals the process ignores (nohup's SIGHUP, SIGINT in a background job) stay ignored; the
      // others are unblocked in this thread, which writes, in case the parent handed down a blocked mask.
      var unblock = sigset_t()
      sigemptyset(&unblock)
      for sig in [SIGINT, SIGTERM, SIGHUP] {
        let previous = signal(sig, removeTemporaryFilesAndDie)
        if let previous, unsafeBitCast(previous, to: Int.self) == 1 {  // SIG_IGN
          signal(sig, previous)
        } else {
          sigaddset(&unblock, sig)
        }
      }
      pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }
    guard let slot = used.firstIndex(of: false) else { return nil }
    used[slot] = true
    let base = table + slot * Self.slotSize
    for (i, b) in bytes.enumerated().dropFirst() { base[i] = CChar(bitPattern: b) }
    base[bytes.count] = 0
    base[0] = CChar(bitPattern: bytes[0])  // Last: the handler skips a slot whose first byte is 0.
    return slot
  }

  /// Forgets the slot of a temporary file that was renamed or removed.
  public func remove(_ slot: Int?) {
    guard let slot, let table = temporaryTable else { return }
    lock.lock()
    defer { lock.unlock() }
    table[slot * Self.slotSize] = 0
    used[slot] = false
  }
}

nonisolated(unsafe) private var temporaryTable: UnsafeMutablePointer<CChar>? = nil

private func removeTemporaryFilesAndDie(_ sig: Int32) {
  if let table = temporaryTable {
    for slot in 0..<TemporaryFiles.slots {
      let base = table + slot * TemporaryFiles.slotSize
      if base[0] != 0 { unlink(base) }
    }
  }
  signal(sig, SIG_DFL)
  raise(sig)
}
