import ZooFiles

// The large `--json` documents as ``JSONValue``s, written without `Encodable` (docs/json.md describes
// their keys). Members are listed in sorted key order, the order they are written in.

/// The `--json` text of a document built as a ``JSONValue``.
func jsonString(_ value: some JSONRepresentable) throws -> String { try JSONOutput.string(value) }

extension DescribeDocument: JSONRepresentable {
  var json: JSONValue {
    var members: [(String, JSONValue)] = [
      ("batch", .int(batch)),
      ("family", .string(family)),
      ("input", .ints(input)),
      ("layers", .array(layers.map(\.json))),
    ]
    if let memory { members.append(("memory", memory.json)) }
    members.append(("model", .string(model)))
    if let notes { members.append(("notes", .array(notes.map { .string($0) }))) }
    members.append(("output", .ints(output)))
    if let shares { members.append(("shares", shares.json)) }
    members.append(("tensors", .array(tensors.map(\.json))))
    members.append(("totals", totals.json))
    return .object(members)
  }
}

extension DescribeDocument.Totals {
  var json: JSONValue {
    .object([
      ("activation_elements", .int(activationElements)),
      ("buffer_elements", .int(bufferElements)),
      ("flops", .int(flops)),
      ("macs", .int(macs)),
      ("non_trainable_params", .int(nonTrainableParams)),
      ("params", .int(params)),
      ("trainable_params", .int(trainableParams)),
    ])
  }
}

extension DescribeDocument.Layer {
  var json: JSONValue {
    var members: [(String, JSONValue)] = [
      ("depth", .int(depth)),
      ("flops", .int(flops)),
      ("kind", .string(kind)),
      ("macs", .int(macs)),
      ("name", .string(name)),
      ("op", .string(op)),
      ("output", .ints(output)),
      ("params", .int(params)),
    ]
    if let receptiveField { members.append(("receptive_field", .ints(receptiveField))) }
    return .object(members)
  }
}

extension DescribeDocument.Tensor {
  var json: JSONValue {
    .object([
      ("kind", .string(kind)),
      ("name", .string(name)),
      ("shape", .ints(shape)),
      ("trainable", .bool(trainable)),
    ])
  }
}

extension MemoryDocument {
  var json: JSONValue {
    .object([
      ("batch", .int(batch)),
      ("dtype", .string(dtype)),
      ("inference_peak_bytes", .int(inferencePeakBytes)),
      ("inference_peak_layer", .string(inferencePeakLayer)),
      ("inference_peak_step", .int(inferencePeakStep)),
      ("optimizer", .string(optimizer)),
      ("param_bytes", .int(paramBytes)),
      (
        "training",
        .object([
          ("gradient_bytes", .int(training.gradientBytes)),
          ("optimizer_bytes", .int(training.optimizerBytes)),
          ("param_bytes", .int(training.paramBytes)),
          ("saved_activation_bytes", .int(training.savedActivationBytes)),
        ])
      ),
      ("training_bytes", .int(trainingBytes)),
    ])
  }
}

extension SharesDocument {
  var json: JSONValue {
    .object([
      ("classes", .array(classes.map(\.json))),
      ("stages", .array(stages.map(\.json))),
      ("top", .object(top.map { ($0.key, .array($0.value.map(\.json))) })),
      ("total", total.json),
    ])
  }
}

extension SharesDocument.Entry {
  var json: JSONValue {
    .object([
      ("activation_bytes", .int(activationBytes)),
      ("macs", .int(macs)),
      ("name", .string(name)),
      ("params", .int(params)),
    ])
  }
}

extension RFDocument: JSONRepresentable {
  var json: JSONValue {
    .object([
      ("input", .ints(input)),
      ("layers", .array(layers.map(\.json))),
      ("model", .string(model)),
      ("warnings", .array(warnings.map { .object([("layer", .string($0.layer)), ("message", .string($0.message))]) })),
    ])
  }
}

extension RFDocument.Layer {
  /// Global rows carry explicit nulls.
  var json: JSONValue {
    .object([
      ("approximate", .bool(approximate)),
      ("centre", centre.map { .array($0.map { .double($0) }) } ?? .null),
      ("coverage", .double(coverage)),
      ("depth", .int(depth)),
      ("global", .bool(global)),
      ("kind", .string(kind)),
      ("name", .string(name)),
      ("outgrows_input", .bool(outgrowsInput)),
      ("output", .ints(output)),
      ("padding", .ints(padding)),
      ("receptive_field", .ints(size)),
      ("stride", .ints(stride)),
    ])
  }
}
