import Foundation
import SwiftProtobuf
import Testing
import ZooAnalysis
import ZooEngine
import ZooFormat
import ZooGraph
import ZooONNX

/// The ONNX fixtures scripts/make_onnx_fixtures.py wrote: small networks exported by both of PyTorch's
/// exporters, with ONNX Runtime's outputs and the counts computed from each file.
let onnxDir = fixturesDir.appendingPathComponent("onnx")

struct ONNXExpectation: Decodable {
  var params: Int
  var macs: Int
  var output: [Int]
  var input: String
  var folded: Int
  var batch_norms: Int
  var sample: [Int]?
}

func onnxExpectations() throws -> [String: ONNXExpectation] {
  let data = try Data(contentsOf: onnxDir.appendingPathComponent("expected.json"))
  return try JSONDecoder().decode([String: ONNXExpectation].self, from: data)
}

/// The fixture names, read when the suite is built (an empty list fails `fixturesAreThere`).
let onnxFixtureNames: [String] = ((try? onnxExpectations()) ?? [:]).keys.sorted()

func onnxPath(_ name: String) -> String { onnxDir.appendingPathComponent("\(name).onnx").path }

/// A one-input model built with the generated types: `input` (1×3×8×8) → nodes → the last node's output.
func tinyModel(
  _ nodes: [Onnx_NodeProto], initializers: [Onnx_TensorProto] = [], output: String, opset: Int64 = 17,
  inputDims: [Int64?] = [1, 3, 8, 8]
) -> Onnx_ModelProto {
  var m = Onnx_ModelProto()
  m.irVersion = 8
  var os = Onnx_OperatorSetIdProto()
  os.version = opset
  m.opsetImport = [os]
  var g = Onnx_GraphProto()
  var input = Onnx_ValueInfoProto()
  input.name = "input"
  var tt = Onnx_TypeProto.Tensor()
  tt.elemType = 1
  for d in inputDims {
    var dim = Onnx_TensorShapeProto.Dimension()
    if let d { dim.dimValue = d } else { dim.dimParam = "n" }
    tt.shape.dim.append(dim)
  }
  input.type.tensorType = tt
  g.input = [input]
  var out = Onnx_ValueInfoProto()
  out.name = output
  g.output = [out]
  g.node = nodes
  g.initializer = initializers
  m.graph = g
  return m
}

func onnxNode(
  _ op: String, _ name: String, _ inputs: [String], _ outputs: [String], _ attrs: [Onnx_AttributeProto] = []
)
  -> Onnx_NodeProto
{
  var n = Onnx_NodeProto()
  n.opType = op
  n.name = name
  n.input = inputs
  n.output = outputs
  n.attribute = attrs
  return n
}

func floatTensor(_ name: String, _ dims: [Int64]) -> Onnx_TensorProto {
  var t = Onnx_TensorProto()
  t.name = name
  t.dataType = 1
  t.dims = dims
  t.floatData = [Float](repeating: 0.5, count: Int(dims.reduce(1, *)))
  return t
}

func intsAttr(_ name: String, _ v: [Int64]) -> Onnx_AttributeProto {
  var a = Onnx_AttributeProto()
  a.name = name
  a.type = .ints
  a.ints = v
  return a
}

/// The import error of `model`, or nil when it imports.
func importError(_ model: Onnx_ModelProto, file: String = "hostile.onnx", input: [Int]? = nil) -> ONNXError? {
  do {
    _ = try ONNXImport(model: model, file: file, directory: onnxDir.path, input: input)
    return nil
  } catch {
    return error
  }
}

@Suite("ONNX import")
struct ONNXImportTests {
  @Test func fixturesAreThere() throws {
    #expect(onnxFixtureNames.count >= 19)
    for exporter in ["_ts", "_dynamo"] {
      #expect(onnxFixtureNames.filter { $0.hasSuffix(exporter) }.count >= 7)
    }
  }

  /// Every fixture imports, its params, MACs and output shape are the file's (expected.json), and the
  /// engine's output equals ONNX Runtime's to 1e-4 of its largest magnitude.
  @Test(arguments: onnxFixtureNames)
  func matchesONNXRuntime(name: String) throws {
    let e = try #require(try onnxExpectations()[name])
    let imported = try ONNXImport.load(onnxPath(name), input: e.sample)
    let summary = try Summary(imported.graph)
    #expect(summary.totals.params == e.params, "\(name): params")
    #expect(summary.totals.macs == e.macs, "\(name): MACs")
    #expect(summary.output == e.output, "\(name): output shape")
    let x = try Npy.read(onnxDir.appendingPathComponent("\(e.input).npy").path)
    let net = try Network(
      graph: imported.graph, input: Array(x.shape.suffix(3)), batch: 1, weights: imported.weights,
      source: name)
    let y = try net.run(x.data)[0]
    let expected = try Npy.read(onnxDir.appendingPathComponent("\(name).out.npy").path)
    #expect(expected.shape == [1] + net.shapes[imported.graph.outputs[0]])
    let scale = try #require(expected.data.map(abs).max())
    #expect(scale > 0)
    let err = maxAbsDiff(y, expected.data) / scale
    #expect(err <= 1e-4, "\(name): max error \(err) of the largest magnitude \(scale)")
    // Batch norm: folded by the exporter (a note, no BN nodes) or kept (BN nodes, no note).
    let bnNodes = imported.graph.nodes.filter { if case .batchNorm = $0.op { true } else { false } }.count
    #expect(bnNodes == e.batch_norms, "\(name): batch-norm nodes")
    let foldNote = imported.notes.first { $0.contains("Batch norm was folded into \(e.folded) convolution") }
    #expect((foldNote != nil) == (e.folded > 0), "\(name): notes \(imported.notes)")
    // Names are unique, weights keyed by them.
    let names = imported.graph.nodes.map(\.name)
    #expect(Set(names).count == names.count, "\(name): duplicate node names")
    let keys = Set(imported.graph.nodes.flatMap(\.tensors).map(\.name).filter { !$0.hasSuffix("num_batches_tracked") })
    #expect(keys == Set(imported.weights.keys))
  }

  /// Module paths from both exporters' scopes: the same layer names, containers for `--depth`.
  @Test(arguments: ["resnet_tiny", "mobile_tiny"])
  func modulePathsAgreeAcrossExporters(net: String) throws {
    let ts = try ONNXImport.load(onnxPath("\(net)_ts"))
    let dyn = try ONNXImport.load(onnxPath("\(net)_dynamo"))
    func convs(_ g: Graph) -> [String] {
      g.nodes.filter { if case .conv = $0.op { true } else { false } }.map(\.name)
    }
    #expect(convs(ts.graph) == convs(dyn.graph))
    // Inside the modules both exporters' names agree, a twice-called `relu` included.
    func inner(_ g: Graph) -> [String] { g.nodes.map(\.name).filter { $0.contains(".") } }
    #expect(inner(ts.graph) == inner(dyn.graph))
    for imported in [ts, dyn] {
      let g = imported.graph
      let modules = Set(g.modules.map(\.path))
      let summary = try Summary(g)
      if net == "resnet_tiny" {
        #expect(convs(g).contains("layer1.0.conv1"))
        #expect(convs(g).contains("layer2.0.downsample.0"))
        #expect(modules.isSuperset(of: ["layer1", "layer1.0", "layer2.0.downsample"]))
        #expect(g.nodes.contains { $0.name == "layer1.0.add" && $0.op == .add })
        #expect(imported.weights["layer1.0.conv1.weight"]?.shape == [8, 8, 3, 3])
        #expect(imported.weights["fc.weight"]?.shape == [10, 16])
        // Folding at depth 1: the stages roll up every layer under them.
        let layer1 = try #require(summary.rows.first { $0.path == "layer1" })
        #expect(layer1.depth == 1 && layer1.node == nil)
        #expect(
          layer1.counts.params
            == g.nodes.filter { $0.name.hasPrefix("layer1.") }.flatMap(\.tensors).reduce(0) { $0 + $1.elements })
      } else {
        #expect(convs(g).contains("features.1.block.2.fc1"))
        #expect(modules.contains("features.1.block.2"))
        #expect(g.nodes.contains { $0.op == .activation(.silu) })
        #expect(g.nodes.contains { $0.op == .activation(.hardswish) })
      }
      // No node is also a container, and every container holds a node.
      for m in g.modules {
        #expect(!g.nodes.contains { $0.name == m.path })
        #expect(g.nodes.contains { $0.name.hasPrefix(m.path + ".") })
      }
    }
  }

  @Test func shapeSubgraphsBecomeLikeAndShuffle() throws {
    for exporter in ["ts", "dynamo"] {
      let dynamic = try ONNXImport.load(onnxPath("unet_tiny_dynamic_\(exporter)"), input: [3, 40, 36])
      let resize = try #require(dynamic.graph.nodes.last { if case .upsample = $0.op { true } else { false } })
      #expect(resize.op == .upsample(Upsample(like: true, mode: .bilinear)), "\(exporter): \(resize.op)")
      #expect(resize.inputs.count == 2 && resize.inputs[1] == 0)
      #expect(try Summary(dynamic.graph).output == [4, 40, 36])
      #expect(dynamic.notes.contains { $0.contains("built for 3×40×36") })
      let shuffle = try ONNXImport.load(onnxPath("shuffle_tiny_\(exporter)"))
      #expect(shuffle.graph.nodes.filter { $0.op == .channelShuffle(groups: 2) }.count == 2)
      #expect(shuffle.graph.nodes.filter { $0.op == .channelSlice(start: 8, count: 8) }.count == 2)
    }
  }

  /// SegNet's unpooling from both exporters (PyTorch's own `max_unpool2d` given ONNX's MaxUnpool, as
  /// scripts/make_onnx_fixtures.py does): each MaxUnpool becomes a `max_unpool` reading the switches of the
  /// MaxPool whose Indices it takes, back to that pool's (odd) input size.
  @Test(arguments: ["segnet_tiny_ts", "segnet_tiny_dynamo"])
  func unpoolingReadsItsPool(name: String) throws {
    let g = try ONNXImport.load(onnxPath(name)).graph
    let unpools = g.nodes.compactMap { n -> (Node, MaxUnpool)? in
      if case .maxUnpool(let u) = n.op { (n, u) } else { nil }
    }
    #expect(unpools.map(\.0.name) == ["unpool2", "unpool1"])
    #expect(unpools.map { g.nodes[$0.1.pool].name } == ["pool2", "pool1"])
    let shapes = try Summary(g).shapes
    for (node, u) in unpools {
      #expect(g.nodes[u.pool].op == .pool(u.window))
      #expect(u.window == Pool2D(kind: .max, kernel: Pair(2), stride: Pair(2), countIncludePad: false))
      #expect(shapes[node.id] == shapes[g.nodes[u.pool].inputs[0]])
    }
    #expect(shapes[unpools[0].0.id] == [16, 10, 7] && shapes[unpools[1].0.id] == [8, 20, 14])
  }

  /// GELU written as `x · 0.5 · (1 + erf(x / √2))` (both exporters below opset 20, each in its own order of
  /// the products) is one `gelu` node, named by its module when it is one (`act1`), else `gelu`.
  @Test(arguments: ["gelu_tiny_ts", "gelu_tiny_dynamo"])
  func erfArithmeticIsGELU(name: String) throws {
    let g = try ONNXImport.load(onnxPath(name)).graph
    let gelus = g.nodes.filter { $0.op == .activation(.gelu(.erf)) }
    #expect(gelus.count == 3)
    #expect(gelus.map(\.name) == ["act1", "gelu", "gelu_1"])
    #expect(!g.nodes.contains { $0.op == .mul || $0.op == .add })
    #expect(
      g.nodes.map(\.op.kindName) == [
        "input", "conv", "gelu", "conv", "gelu", "adaptive_avgpool", "flatten", "linear", "gelu",
      ])
  }

  /// Erf arithmetic that is not GELU is an error: another scale, or a part left over.
  @Test func erfArithmeticElseIsAnError() throws {
    func scalar(_ name: String, _ v: Float) -> Onnx_TensorProto {
      var t = Onnx_TensorProto()
      t.name = name
      t.dataType = 1
      t.floatData = [v]
      return t
    }
    let constants = [scalar("sqrt2", Float(2).squareRoot()), scalar("two", 2), scalar("one", 1), scalar("half", 0.5)]
    let gelu = { (divisor: String, half: String) in
      [
        onnxNode("Div", "/a/Div", ["input", divisor], ["d"]), onnxNode("Erf", "/a/Erf", ["d"], ["e"]),
        onnxNode("Add", "/a/Add", ["e", "one"], ["p"]), onnxNode("Mul", "/a/Mul", ["input", "p"], ["m"]),
        onnxNode("Mul", "/a/Mul_1", ["m", half], ["y"]),
      ]
    }
    let ok = try ONNXImport(
      model: tinyModel(gelu("sqrt2", "half"), initializers: constants, output: "y"), file: "g.onnx")
    let ops: [Op] = ok.graph.nodes.map(\.op)
    #expect(ops == [.input, .activation(.gelu(.erf))])
    let other = try #require(importError(tinyModel(gelu("two", "half"), initializers: constants, output: "y")))
    #expect(other.description.contains("`Erf`") && other.description.contains("only inside GELU"), "\(other)")
    let unfinished = try #require(importError(tinyModel(gelu("sqrt2", "one"), initializers: constants, output: "y")))
    #expect(unfinished.description.contains("only as a whole GELU"), "\(unfinished)")
  }

  /// A zoo model with unpooling and GELU (written as erf arithmetic at opset 13, as `Gelu` at 21), exported
  /// and imported again, is the same network: the same ops, each `max_unpool` reading the pool of the same
  /// name, and the same output for the same weights.
  @Test func exportedUnpoolingImportsBack() throws {
    let yaml = """
      input: [3, 11, 9]
      network:
        - {conv: 8, kernel: 3, padding: 1, name: enc1}
        - relu
        - {maxpool: 2, name: pool1}
        - {conv: 8, kernel: 3, padding: 1, name: enc2}
        - relu
        - {maxpool: 3, stride: 2, padding: 1, name: pool2}
        - {conv: 8, kernel: 3, padding: 1, name: mid}
        - {max_unpool: pool2, name: unpool2}
        - {conv: 8, kernel: 3, padding: 1, name: dec2}
        - {max_unpool: pool1, name: unpool1}
        - {conv: 4, kernel: 3, padding: 1, name: dec1}
        - {gelu, name: act}
      models: {net: {}}
      """
    let g = try DefinitionFile(path: "unpool.yaml", text: yaml).graph(named: nil)
    let shapes = try Summary(g).shapes
    let weights = SeededInit.weights(for: g)
    for opset in [13, 21] {
      let bytes = try ONNXExport.bytes(
        g, shapes: shapes, weights: weights, options: ONNXExport.Options(opset: opset, dynamicBatch: true))
      let back = try ONNXImport(model: try ONNXFile.decode(bytes, name: "unpool.onnx"), file: "unpool.onnx")
      func kinds(_ g: Graph) -> [String] { g.nodes.map(\.op.kindName) }
      #expect(kinds(back.graph) == kinds(g))
      for n in back.graph.nodes {
        guard case .maxUnpool(let u) = n.op else { continue }
        let original = try #require(g.nodes.first { $0.name == n.name })
        guard case .maxUnpool(let v) = original.op else {
          Issue.record("\(n.name) is not an unpool")
          continue
        }
        #expect(back.graph.nodes[u.pool].name == g.nodes[v.pool].name)
        // `countIncludePad` means nothing to a max pool (ONNX's MaxPool has no such attribute).
        var window = v.window
        window.countIncludePad = u.window.countIncludePad
        #expect(u.window == window)
      }
      let x = seededInput(2 * 3 * 11 * 9)
      let want = try Network(graph: g, batch: 2, weights: weights).run(x)[0]
      let got = try Network(graph: back.graph, batch: 2, weights: back.weights).run(x)[0]
      #expect(maxAbsDiff(want, got) <= 1e-6 * (want.map(abs).max() ?? 0), "opset \(opset)")
    }
  }

  /// Unpoolings the zoo's `max_unpool` cannot express are errors naming the node.
  @Test func unpoolingErrors() throws {
    func int64s(_ name: String, _ v: [Int64]) -> Onnx_TensorProto {
      var t = Onnx_TensorProto()
      t.name = name
      t.dataType = 7
      t.dims = [Int64(v.count)]
      t.int64Data = v
      return t
    }
    let pool = onnxNode(
      "MaxPool", "/pool/MaxPool", ["input"], ["p", "i"],
      [intsAttr("kernel_shape", [2, 2]), intsAttr("strides", [2, 2])])
    let unpool = { (indices: String, size: String) in
      onnxNode(
        "MaxUnpool", "/unpool/MaxUnpool", ["p", indices, size], ["y"],
        [intsAttr("kernel_shape", [2, 2]), intsAttr("strides", [2, 2])])
    }
    var columnMajor = pool
    var order = Onnx_AttributeProto()
    order.name = "storage_order"
    order.type = .int
    order.i = 1
    columnMajor.attribute.append(order)
    let cases: [(Onnx_ModelProto, String)] = [
      (tinyModel([pool, unpool("i", "s")], initializers: [int64s("s", [1, 3, 8, 8])], output: "y"), ""),
      (tinyModel([pool, unpool("i", "")], output: "y"), ""),
      (
        tinyModel([pool, unpool("i", "s")], initializers: [int64s("s", [1, 3, 9, 8])], output: "y"),
        "output_shape [1, 3, 9, 8] is not the shape 1×3×8×8 of its max pool's input"
      ),
      (
        tinyModel(
          [pool, unpool("k", "s")], initializers: [int64s("s", [1, 3, 8, 8]), int64s("k", [0])], output: "y"),
        "are not the Indices output of a MaxPool"
      ),
      (
        tinyModel([pool, onnxNode("Relu", "/r/Relu", ["i"], ["y"])], output: "y"),
        "Indices output of a MaxPool; the importer maps those indices only as the indices of a MaxUnpool"
      ),
      (
        tinyModel([columnMajor, unpool("i", "")], output: "y"), "column-major"
      ),
    ]
    for (model, part) in cases {
      let error = importError(model)
      if part.isEmpty {
        #expect(error == nil, "\(String(describing: error))")
      } else {
        let e = try #require(error, "expected an error with \(part)")
        #expect(e.description.contains(part) && e.description.contains("hostile.onnx"), "\(e)")
      }
    }
    // Without output_shape, ONNX's default size must be the pool's input size: 7 rows pool to 3, unpool to 6.
    let odd = tinyModel([pool, unpool("i", "")], output: "y", inputDims: [1, 3, 7, 8])
    let e = try #require(importError(odd))
    #expect(e.description.contains("default output size 6×8"), "\(e)")
  }

  @Test func symbolicInputNeedsAShape() throws {
    let error = try #require(throws: ONNXError.self) { try ONNXImport.load(onnxPath("unet_tiny_dynamic_ts")) }
    #expect(error.description.contains("--input CxHxW"))
    #expect(error.description.contains("unet_tiny_dynamic_ts.onnx"))
    let fixed = try #require(throws: ONNXError.self) {
      try ONNXImport.load(onnxPath("unet_tiny_ts"), input: [3, 32, 32])
    }
    #expect(fixed.description.contains("fixes the input to 1×3×16×16"))
  }

  @Test func notesSayWhatTheImporterRead() throws {
    #expect(try ONNXImport.load(onnxPath("resnet_tiny_fp16")).notes.contains { $0.contains("float16") })
    #expect(try ONNXImport.load(onnxPath("resnet_tiny_external")).notes.contains { $0.contains("external-data") })
    let kept = try ONNXImport.load(onnxPath("resnet_tiny_bn_ts11"))
    #expect(!kept.notes.contains { $0.contains("folded") })
    #expect(kept.graph.nodes.contains { $0.name == "bn1" })
    #expect(kept.opset == 11)
  }

  /// A file cut short anywhere is one ONNXError naming the file.
  @Test func truncatedFilesAreErrors() throws {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: onnxPath("mobile_tiny_ts"))))
    for fraction in [0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999] {
      let cut = Int(Double(bytes.count) * fraction)
      let error = #expect(throws: ONNXError.self) {
        let model = try ONNXFile.decode(Array(bytes[..<cut]), name: "cut.onnx")
        _ = try ONNXImport(model: model, file: "cut.onnx")
      }
      #expect(error?.description.contains("cut.onnx") == true, "cut at \(cut): \(String(describing: error))")
    }
  }

  /// Flipped bytes give an error or a model, never a crash or a runaway allocation.
  @Test func corruptedBytesNeverCrash() throws {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: onnxPath("shuffle_tiny_dynamo"))))
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    var errors = 0
    for _ in 0..<200 {
      var b = bytes
      for _ in 0..<4 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        b[Int(state >> 33) % b.count] = UInt8(truncatingIfNeeded: state >> 17)
      }
      do {
        let model = try ONNXFile.decode(b, name: "flipped.onnx")
        _ = try ONNXImport(model: model, file: "flipped.onnx")
      } catch {
        errors += 1
        #expect(error.description.contains("flipped.onnx"))
      }
    }
    #expect(errors > 0)
  }

  /// Structural mutations of decoded models (a node dropped, inputs swapped, an integer attribute or an
  /// initializer's dimension set to an extreme) give an error or a model, never a crash.
  @Test(arguments: ["ops_ts", "ops_dynamo", "shuffle_tiny_ts", "unet_tiny_dynamic_dynamo"])
  func mutatedGraphsNeverCrash(name: String) throws {
    let original = try ONNXFile.read(onnxPath(name))
    var state: UInt64 = 0x2545_F491_4F6C_DD1D
    func next(_ n: Int) -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int(state >> 33) % max(n, 1)
    }
    let extremes: [Int64] = [0, -1, -7, 1, 2, 3, 1 << 31, Int64.max, Int64.min, 1 << 40]
    var errors = 0
    var imported = 0
    for _ in 0..<150 {
      var m = original
      var g = m.graph
      for _ in 0...next(2) {
        switch next(5) {
        case 0 where !g.node.isEmpty:
          g.node.remove(at: next(g.node.count))
        case 1 where g.node.count > 1:
          let (a, b) = (next(g.node.count), next(g.node.count))
          if !g.node[a].input.isEmpty && !g.node[b].input.isEmpty {
            let (i, j) = (next(g.node[a].input.count), next(g.node[b].input.count))
            let t = g.node[a].input[i]
            g.node[a].input[i] = g.node[b].input[j]
            g.node[b].input[j] = t
          }
        case 2 where !g.node.isEmpty:
          let k = next(g.node.count)
          if !g.node[k].attribute.isEmpty {
            let a = next(g.node[k].attribute.count)
            let v = extremes[next(extremes.count)]
            g.node[k].attribute[a].i = v
            if !g.node[k].attribute[a].ints.isEmpty {
              g.node[k].attribute[a].ints[next(g.node[k].attribute[a].ints.count)] = v
            }
          }
        case 3 where !g.initializer.isEmpty:
          let k = next(g.initializer.count)
          if !g.initializer[k].dims.isEmpty {
            g.initializer[k].dims[next(g.initializer[k].dims.count)] = extremes[next(extremes.count)]
          }
        default:
          if !g.initializer.isEmpty, case let k = next(g.initializer.count), g.initializer[k].dataType == 7,
            !g.initializer[k].int64Data.isEmpty || g.initializer[k].hasRawData
          {
            // An integer initializer (a shape, axes, pads) gets an extreme value.
            let v = extremes[next(extremes.count)]
            let count = min(Int(g.initializer[k].dims.reduce(1, &*)), 64)
            g.initializer[k].rawData = Data()
            g.initializer[k].clearRawData()
            g.initializer[k].int64Data = (0..<max(count, 0)).map { $0 == 0 ? v : 1 }
          }
        }
      }
      m.graph = g
      do {
        _ = try ONNXImport(model: m, file: "mutated.onnx", directory: onnxDir.path, input: [3, 16, 16])
        imported += 1
      } catch {
        errors += 1
        #expect(error.description.contains("mutated.onnx"))
      }
    }
    #expect(errors > 0, "\(name): no mutation was refused")
  }

  @Test func unsupportedOpIsOneError() throws {
    let model = tinyModel([onnxNode("Erf", "/block/Erf", ["input"], ["y"])], output: "y", opset: 15)
    let error = try #require(importError(model))
    for part in ["`Erf`", "/block/Erf", "opset 15", "Conv", "Resize", "hostile.onnx"] {
      #expect(error.description.contains(part), "\(error)")
    }
  }

  @Test func hostileGraphsAreErrors() throws {
    let conv = onnxNode("Conv", "/c/Conv", ["input", "w"], ["y"])
    let cases: [(Onnx_ModelProto, String)] = [
      (tinyModel([conv], output: "y"), "neither an initializer"),
      (tinyModel([conv], initializers: [floatTensor("w", [4, 3, 3, 3])], output: "z"), "graph output `z`"),
      (
        tinyModel(
          [onnxNode("Relu", "a", ["b_out"], ["a_out"]), onnxNode("Relu", "b", ["a_out"], ["b_out"])],
          output: "b_out"), "neither an initializer"
      ),
      (tinyModel([conv], initializers: [floatTensor("w", [4, 5, 3, 3])], output: "y"), "does not fit an input of 3"),
      (
        tinyModel(
          [onnxNode("Conv", "/c/Conv", ["input", "w"], ["y"], [intsAttr("strides", [0, 1])])],
          initializers: [floatTensor("w", [4, 3, 3, 3])], output: "y"), "strides"
      ),
      (
        tinyModel([conv], initializers: [floatTensor("w", [4, 3, 3, 3])], output: "y", inputDims: [1, 3, nil, 8]),
        "--input"
      ),
      (
        tinyModel([conv], initializers: [floatTensor("w", [4, 3, 3, 3])], output: "y", inputDims: [1, 3, 8]), "N×C×H×W"
      ),
    ]
    // A dropout exported in training mode (torch.export of a module left in train mode).
    var training = Onnx_TensorProto()
    training.name = "train"
    training.dataType = 9
    training.int32Data = [1]
    let dropout = tinyModel(
      [onnxNode("Dropout", "node_dropout", ["input", "", "train"], ["y"])], initializers: [training], output: "y")
    for (model, part) in cases + [(dropout, "training mode")] {
      let error = try #require(importError(model), "expected an error with \(part)")
      #expect(error.description.contains(part), "\(error)")
      #expect(error.description.contains("hostile.onnx"))
    }
    // Attributes of the wrong type.
    var bad = onnxNode("Conv", "/c/Conv", ["input", "w"], ["y"])
    var a = Onnx_AttributeProto()
    a.name = "group"
    a.type = .float
    a.f = 1
    bad.attribute = [a]
    let error = try #require(
      importError(tinyModel([bad], initializers: [floatTensor("w", [4, 3, 3, 3])], output: "y")))
    #expect(error.description.contains("`group` must be an integer") && error.description.contains("/c/Conv"))
  }

  @Test func hostileTensorsAreErrors() throws {
    let conv = onnxNode("Conv", "/c/Conv", ["input", "w"], ["y"])
    var huge = floatTensor("w", [4, 3, 3, 3])
    huge.dims = [1 << 40, 1 << 30, 3, 3]
    huge.floatData = []
    var negative = floatTensor("w", [4, 3, 3, 3])
    negative.dims = [4, -3, 3, 3]
    var short = floatTensor("w", [4, 3, 3, 3])
    short.floatData.removeLast()
    var raw = floatTensor("w", [4, 3, 3, 3])
    raw.floatData = []
    raw.rawData = Data(count: 17)
    var strange = floatTensor("w", [4, 3, 3, 3])
    strange.dataType = 8
    for (t, part) in [
      (huge, "too large"), (negative, "negative"), (short, "float_data holds 107 values"),
      (raw, "raw_data holds 17 bytes"), (strange, "string"),
    ] {
      let error = try #require(importError(tinyModel([conv], initializers: [t], output: "y")), "\(part)")
      #expect(error.description.contains(part) && error.description.contains("`w`"), "\(error)")
    }
  }

  /// External data stays inside the model's folder and inside its file.
  @Test func externalDataIsConfined() throws {
    let model = try ONNXFile.read(onnxPath("resnet_tiny_external"))
    #expect(importError(model, file: "resnet_tiny_external.onnx") == nil)
    let index = try #require(model.graph.initializer.firstIndex { $0.dataLocation == .external })
    for (key, value, part) in [
      ("location", "../onnx/resnet_tiny_external.onnx.data", "inside the model's folder"),
      ("location", "/etc/passwd", "inside the model's folder"),
      ("location", "missing.data", "cannot open"),
      ("offset", "99999999999", "runs past the end"),
      ("length", "3", "differs from"),
    ] {
      var m = model
      var entries = m.graph.initializer[index].externalData.filter { $0.key != key }
      var e = Onnx_StringStringEntryProto()
      e.key = key
      e.value = value
      entries.append(e)
      m.graph.initializer[index].externalData = entries
      let error = try #require(importError(m, file: "ext.onnx"), "\(key) \(value)")
      #expect(error.description.contains(part) && error.description.contains("ext.onnx"), "\(error)")
    }
  }

  /// The commands read .onnx files: describe prints the notes, run uses the file's weights (and refuses
  /// --weights), compare sets a file beside a built-in model, rf and render draw it.
  @Test func commandsReadONNXFiles() throws {
    let file = onnxPath("resnet_tiny_ts")
    let describe = try runZoo(["describe", file])
    #expect(describe.status == 0, "\(describe.err)")
    #expect(describe.out.contains("layer1.0.conv1") && describe.out.contains("Batch norm was folded into 10"))
    let json = try runZoo(["describe", file, "--json"])
    #expect(json.status == 0 && json.out.contains("\"notes\""))
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-onnx-cli-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("y.npy").path
    let run = try runZoo(["run", file, onnxDir.appendingPathComponent("x_3x32x32.npy").path, "--output", out])
    #expect(run.status == 0, "\(run.err)")
    let y = try Npy.read(out)
    let expected = try Npy.read(onnxDir.appendingPathComponent("resnet_tiny_ts.out.npy").path)
    #expect(maxAbsDiff(y.data, expected.data) <= 1e-4 * expected.data.map(abs).max()!)
    let refused = try runZoo(["run", file, "x.npy", "--weights", "w.safetensors"])
    #expect(refused.status != 0 && refused.err.contains("runs with the weights it holds"))
    let compare = try runZoo(["compare", file, "resnet18"])
    #expect(compare.status == 0 && compare.out.contains("11,962"), "\(compare.err)")
    #expect(try runZoo(["rf", file]).status == 0)
    let svg = dir.appendingPathComponent("g.svg").path
    let render = try runZoo(["render", file, "-o", svg])
    #expect(render.status == 0 && FileManager.default.fileExists(atPath: svg), "\(render.err)")
    let dynamic = try runZoo(["describe", onnxPath("unet_tiny_dynamic_dynamo"), "--input", "3x48x40", "--json"])
    #expect(dynamic.status == 0 && dynamic.out.contains("48,") && dynamic.out.contains("\"notes\""), "\(dynamic.err)")
    let missing = try runZoo(["describe", onnxPath("unet_tiny_dynamic_dynamo")])
    #expect(missing.status != 0 && missing.err.contains("--input CxHxW"))
  }
}
