import Foundation
import SwiftProtobuf
import ZooFiles

/// A problem with an ONNX file, worded for the user: it names the file and, where there is one, the
/// node (its name and op type), the tensor or the attribute.
public struct ONNXError: Error, Sendable, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// Reading and writing the protobuf container of an ONNX model.
public enum ONNXFile {
  /// The largest model file read (protobuf caps a message at 2 GiB; bigger models keep their weights in
  /// external-data files, which are read separately).
  public static let maxBytes = Int(Int32.max)

  /// Decodes the model file at `path`.
  public static func read(_ path: String) throws(ONNXError) -> Onnx_ModelProto {
    let bytes: [UInt8]
    do {
      bytes = try Files.read(path, what: "the ONNX file", maxBytes: maxBytes, why: "bytes protobuf allows in one file")
    } catch {
      throw ONNXError(error.description)
    }
    return try decode(bytes, name: path)
  }

  /// Decodes a serialized `ModelProto`; `name` names it in errors.
  public static func decode(_ bytes: [UInt8], name: String) throws(ONNXError) -> Onnx_ModelProto {
    let model: Onnx_ModelProto
    do {
      model = try Onnx_ModelProto(serializedBytes: bytes)
    } catch {
      throw ONNXError("`\(name)` is not an ONNX model: its protobuf encoding is broken (\(error))")
    }
    guard model.hasGraph else { throw ONNXError("`\(name)` is not an ONNX model: it has no graph") }
    return model
  }
}
