import Foundation
import Testing
import ZooAnalysis
import ZooFormat
import ZooGraph

/// torchvision's figures of one model, from Fixtures/reference/torchvision.json (scripts/make_reference.py).
struct ReferenceModel: Decodable, Sendable {
  var input: [Int]
  var output: [Int]
  var params: Int
  var macs: Int
  var fvcoreFlops: Int
  var bnElements: Int
  var stateDict: [String: [Int]]

  enum CodingKeys: String, CodingKey {
    case input, output, params, macs
    case fvcoreFlops = "fvcore_flops"
    case bnElements = "bn_elements"
    case stateDict = "state_dict"
  }
}

/// The models of torchvision.json, or why the file could not be read (the tests then fail with it).
let referenceModels: Result<[String: ReferenceModel], any Error> = Result {
  struct File: Decodable { var models: [String: ReferenceModel] }
  let data = try Data(contentsOf: referenceDir.appendingPathComponent("torchvision.json"))
  return try JSONDecoder().decode(File.self, from: data).models
}

/// The zoo's models that are not in torchvision, so have no reference entry: the lecture notes' and
/// papers' variants (SegNet and DeepFace among them) and the seven single-block examples.
let modelsWithoutReference: Set<String> = [
  "lenet5", "lenet5_original", "alexnet_original", "plain3x3_256", "bottleneck_256", "depthwise_separable_256",
  "plain3x3_se_256", "plain3x3_gated_256", "plain3x3_shuffle_256", "fcn32s", "fcn16s", "fcn8s", "unet",
  "tiled3x3_256", "segnet", "deepface",
  "allcnn_c", "gated_inpaint_coarse", "fire_256", "upsample_conv_256", "upsample_transpose_256",
  "plain3x3_inverted_residual_256",
]

/// The models whose torchvision definition pools globally with `x.mean([2, 3])` rather than an
/// `nn.AdaptiveAvgPool2d` (the zoo writes `adaptive_avgpool: 1`, the same numbers); fvcore counts no FLOPs
/// for `aten::mean`, so their fvcore figure lacks the pool's.
let poolsWithTensorMean: Set<String> = [
  "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "mnasnet1_0",
]

/// Every zoo model but the exceptions: each must have a reference entry.
let referencedModels = allModels.filter { !modelsWithoutReference.contains($0) }

/// torchvision's figures for `name`; throws when the file is missing or unreadable, or lacks the model.
func reference(_ name: String) throws -> ReferenceModel {
  try #require(try referenceModels.get()[name], "\(name) has no entry in \(referenceDir.path)/torchvision.json")
}

@Suite("torchvision reference figures")
struct ReferenceTests {
  @Test func everyZooModelHasAReferenceOrIsAnException() throws {
    let models = try referenceModels.get()
    #expect(Set(referencedModels).count == 36)
    #expect(poolsWithTensorMean.isSubset(of: referencedModels))
    #expect(Set(models.keys) == Set(referencedModels), "the reference file and the zoo list different models")
    #expect(modelsWithoutReference.isSubset(of: allModels), "an exception names a model the zoo does not have")
  }

  @Test(arguments: referencedModels)
  func paramsMacsAndOutputAreExact(_ name: String) throws {
    let ref = try reference(name)
    let s = try Summary(try builtin(name), input: Array(ref.input.dropFirst()))
    #expect(s.totals.params == ref.params, "params of \(name)")
    #expect(s.totals.macs == ref.macs, "MACs of \(name)")
    #expect([1] + s.output == ref.output, "output shape of \(name)")
  }

  @Test(arguments: referencedModels)
  func everyStateDictKeyAndShape(_ name: String) throws {
    let ref = try reference(name)
    let tensors = try builtin(name).nodes.flatMap(\.tensors)
    let ours = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.shape) })
    #expect(!ref.stateDict.isEmpty, "\(name): the reference has no state-dict keys")
    let missing = ref.stateDict.keys.filter { ours[$0] == nil }.sorted()
    let extra = ours.keys.filter { ref.stateDict[$0] == nil }.sorted()
    #expect(missing.isEmpty, "\(name) lacks torchvision keys \(missing.prefix(5))")
    #expect(extra.isEmpty, "\(name) has keys torchvision does not: \(extra.prefix(5))")
    for (key, shape) in ref.stateDict where ours[key] != nil {
      #expect(ours[key] == shape, "\(name): \(key) is \(ours[key]!) but torchvision has \(shape)")
    }
  }

  /// fvcore's total = our MACs + our BN FLOPs (2 per element) + our adaptive-pool FLOPs (1 per input element;
  /// none for the models in ``poolsWithTensorMean``, which have no other adaptive pool)
  /// + 4 per output element of a bilinear upsampling (fvcore's count for `upsample_bilinear2d`; ours is 7).
  @Test(arguments: referencedModels)
  func fvcoreFigureFromOurPerOpCounts(_ name: String) throws {
    let ref = try reference(name)
    let s = try Summary(try builtin(name))
    var bnFlops = 0
    var bnElements = 0
    var poolFlops = 0
    for node in s.graph.nodes {
      switch node.op {
      case .batchNorm:
        bnFlops += s.nodeCounts[node.id].flops
        bnElements += s.nodeCounts[node.id].outputElements
      case .adaptiveAvgPool: poolFlops += s.nodeCounts[node.id].flops
      case .upsample(let u) where u.mode == .bilinear: poolFlops += 4 * s.nodeCounts[node.id].outputElements
      default: break
      }
    }
    #expect(bnElements == ref.bnElements, "BN output elements of \(name)")
    if poolsWithTensorMean.contains(name) {
      #expect(poolFlops > 0, "\(name) has its global pool")
      poolFlops = 0
    }
    #expect(s.totals.macs + bnFlops + poolFlops == ref.fvcoreFlops, "fvcore figure of \(name)")
  }
}

@Suite("paper and lecture-note figures")
struct PaperFigureTests {
  @Test func lenet5Modern() throws {
    let s = try Summary(try builtin("lenet5"))
    #expect(s.totals.params == 61_706)
    #expect(s.totals.macs == 416_520)
    #expect(s.output == [10])
  }

  @Test func lenet5OriginalHasSixtyThousandTrainableParameters() throws {
    let s = try Summary(try builtin("lenet5_original"))
    #expect(s.totals.trainableParams == 60_000)
    #expect(s.totals.params - s.totals.trainableParams == 840, "the RBF's fixed 84×10 weights")
    let c3 = try #require(s.rows.first { $0.path == "C3" })
    #expect(c3.counts.params == 1_516, "C3 with LeCun's connection table")
    let s2 = try #require(s.rows.first { $0.path == "S2" })
    #expect(s2.counts.params == 12, "a coefficient and a bias per map")
  }

  @Test func alexnetOriginal() throws {
    let s = try Summary(try builtin("alexnet_original"))
    #expect(s.totals.params == 60_965_224)
    #expect(s.totals.macs == 724_406_816)
    #expect(s.shapes[s.graph.nodes.first { $0.name == "pool5" }!.id] == [256, 6, 6])
  }

  @Test func bottleneckSavesParameters() throws {
    #expect(try Summary(try builtin("plain3x3_256")).totals.params == 589_824)
    #expect(try Summary(try builtin("bottleneck_256")).totals.params == 69_632)
    #expect(try Summary(try builtin("depthwise_separable_256")).totals.params == 256 * 9 + 256 * 256)
  }

  /// MobileNetV2's block at 256 channels (t = 6): 1×1 to 1536, 3×3 depthwise, 1×1 back, three BNs, after the
  /// plain 3×3 convolution; the expansion makes it cost more than the plain convolution at this width.
  @Test func invertedResidualSnippet() throws {
    let s = try Summary(try builtin("plain3x3_inverted_residual_256"))
    let block = 256 * 1536 + 1536 * 9 + 1536 * 256 + 2 * (1536 + 1536 + 256)
    #expect(s.totals.params == 256 * 256 * 9 + block)
    #expect(s.totals.macs == (256 * 256 * 9 + 256 * 1536 + 1536 * 9 + 1536 * 256) * 56 * 56)
    #expect(s.output == [256, 56, 56])
  }

  @Test func googlenetAuxiliaryClassifiersAreAnOption() throws {
    let plain = try Summary(try builtin("googlenet"))
    let aux = try Summary(try builtin("googlenet", overrides: [("aux_logits", "true")]))
    #expect(plain.graph.outputs.count == 1)
    #expect(aux.graph.outputs.count == 3)
    // torchvision's InceptionAux: conv 1×1 (512 or 528 → 128, BN), fc1 2048→1024, fc2 1024→1000.
    let aux1 = (512 * 128 + 2 * 128) + (2048 * 1024 + 1024) + (1024 * 1000 + 1000)
    let aux2 = (528 * 128 + 2 * 128) + (2048 * 1024 + 1024) + (1024 * 1000 + 1000)
    #expect(aux.totals.params - plain.totals.params == aux1 + aux2)
    let names = Set(aux.graph.nodes.flatMap(\.tensors).map(\.name))
    #expect(names.contains("aux1.conv.conv.weight") && names.contains("aux2.fc2.bias"))
  }

  /// torchvision 0.29's `mobilenet_v2(width_mult: w)`, counted as scripts/make_reference.py counts:
  /// parameters, MACs, the stem's and the last layer's widths. Rounding to multiples of 8 puts the
  /// stem at 16 channels for both 0.35 and 0.5 (at 0.35 through the `< 0.9 · v` correction: 11.2
  /// rounds to 8, then 16), and the last layer grows to 1792 at 1.4 but stays 1280 below 1.
  @Test(arguments: [
    ("0.35", 1_677_128, 59_285_808, 16, 1280), ("0.5", 1_968_680, 97_131_840, 16, 1280),
    ("0.75", 2_636_424, 209_069_792, 24, 1280), ("1.4", 6_108_776, 582_195_824, 48, 1792),
  ])
  func mobilenetV2WidthMultipliers(width: String, params: Int, macs: Int, stem: Int, last: Int) throws {
    let s = try Summary(try builtin("mobilenet_v2", overrides: [("width_mult", width)]))
    #expect(s.totals.params == params, "params at width_mult \(width)")
    #expect(s.totals.macs == macs, "MACs at width_mult \(width)")
    let stemNode = try #require(s.graph.nodes.first { $0.name == "features.0.0" })
    let lastNode = try #require(s.graph.nodes.first { $0.name == "features.18.0" })
    #expect(s.shapes[stemNode.id][0] == stem && s.shapes[lastNode.id][0] == last, "widths at width_mult \(width)")
  }
}
