import Testing
import ZooAnalysis
import ZooGraph

/// The output shape of the layer called `name` in `s`.
private func shape(_ s: Summary, _ name: String) throws -> [Int] {
  let node = try #require(s.graph.nodes.first { $0.name == name }, "no layer `\(name)` in \(s.graph.name)")
  return s.shapes[node.id]
}

/// Parameters of a convolution with bias: `k·k·cin·cout + cout`.
private func convParams(_ k: Int, _ cin: Int, _ cout: Int) -> Int { k * k * cin * cout + cout }

@Suite("SqueezeNet, Inception-v3, All-CNN-C, gated convolutions")
struct ClassicModelTests {
  /// All-CNN-C, the paper's table 2, counted layer by layer: three 3×3 convolutions of 96 (the third
  /// with stride 2), three of 192 (the third with stride 2), an unpadded 3×3 and two 1×1s, every one
  /// with a bias. The paper states "≈1.3 M" parameters; the table's layers hold 1,369,738 (1.37 M),
  /// so the paper's figure is 1.37 M cut to one decimal, not a different network: model C with its
  /// two max pools instead of the strided convolutions would have 954,730.
  @Test func allCNNCMatchesThePaperTable() throws {
    let s = try Summary(try builtin("allcnn_c"))
    let layers = [
      convParams(3, 3, 96), convParams(3, 96, 96), convParams(3, 96, 96), convParams(3, 96, 192),
      convParams(3, 192, 192), convParams(3, 192, 192), convParams(3, 192, 192), convParams(1, 192, 192),
      convParams(1, 192, 10),
    ]
    #expect(s.totals.params == layers.reduce(0, +))
    #expect(s.totals.params == 1_369_738)
    let paper = 1.3e6
    #expect((Double(s.totals.params) / 1e5).rounded(.down) / 10 == paper / 1e6, "1.37 M cut to 1.3 M")
    let modelC = s.totals.params - convParams(3, 96, 96) - convParams(3, 192, 192)
    #expect(modelC == 954_730)
    #expect(try shape(s, "conv3") == [96, 16, 16])
    #expect(try shape(s, "conv6") == [192, 8, 8])
    #expect(try shape(s, "conv9") == [10, 6, 6], "the paper's global averaging over 6×6")
    #expect(s.output == [10])
    // Dropout where the paper trains with it: the input, and after each strided convolution.
    for name in ["drop_input", "drop3", "drop6"] { #expect(s.graph.nodes.contains { $0.name == name }, "\(name)") }
  }

  /// The coarse generator of Yu et al. (2019), widths of the authors' code (cnum 48): every gated
  /// layer is two convolutions of the same geometry (feature and gate), so twice a plain one.
  @Test func gatedGeneratorCounts() throws {
    let s = try Summary(try builtin("gated_inpaint_coarse"))
    let c = 24
    let gated: [(k: Int, cin: Int, cout: Int)] =
      [(5, 5, c), (3, c, 2 * c), (3, 2 * c, 2 * c), (3, 2 * c, 4 * c)]
      + Array(repeating: (3, 4 * c, 4 * c), count: 8)
      + [(3, 4 * c, 2 * c), (3, 2 * c, 2 * c), (3, 2 * c, c), (3, c, c / 2)]
    let params = gated.reduce(0) { $0 + 2 * convParams($1.k, $1.cin, $1.cout) } + convParams(3, c / 2, 3)
    #expect(s.totals.params == params)
    #expect(s.totals.params == 1_631_151)
    #expect(try shape(s, "conv4_downsample.gate_mul") == [96, 64, 64], "a quarter of 256 in the middle")
    #expect(try shape(s, "conv10_atrous.gate_mul") == [96, 64, 64])
    #expect(try shape(s, "conv13_upsample.upsample") == [96, 128, 128])
    #expect(s.output == [3, 256, 256])
    #expect(s.graph.nodes.filter { $0.name.hasSuffix(".gate_mul") }.count == 16)
  }

  /// torchvision's inception_v3 with and without AuxLogits: the head is a second output, and its
  /// parameters are conv0 (1×1, 768 → 128, BN), conv1 (5×5, 128 → 768, BN) and fc (768 → 1000).
  @Test func inceptionV3AuxiliaryHead() throws {
    let aux = try Summary(try builtin("inception_v3"))
    let plain = try Summary(try builtin("inception_v3_noaux"))
    #expect(aux.graph.outputs.count == 2 && plain.graph.outputs.count == 1)
    let head = (768 * 128 + 2 * 128) + (128 * 768 * 25 + 2 * 768) + (768 * 1000 + 1000)
    #expect(aux.totals.params - plain.totals.params == head)
    #expect(aux.shapes[aux.graph.outputs[1]] == [1000])
    #expect(try shape(plain, "Mixed_6e.concat") == [768, 17, 17])
    let avgpool = try #require(plain.graph.nodes.first { $0.name == "avgpool" })
    #expect(plain.shapes[avgpool.inputs[0]] == [2048, 8, 8], "Mixed_7c's output")
  }

  /// The snippets beside the plain 3×3 convolution: a fire module keeping 256 channels (squeeze to
  /// 32, expand to 128 + 128), and ×2 upsamplers by a transposed 4×4/2 convolution and by nearest
  /// upsampling then a 3×3 convolution.
  @Test func fireAndUpsamplerSnippets() throws {
    let fire = try Summary(try builtin("fire_256"))
    #expect(fire.totals.params == convParams(1, 256, 32) + convParams(1, 32, 128) + convParams(3, 32, 128))
    #expect(fire.output == [256, 56, 56])
    let transpose = try Summary(try builtin("upsample_transpose_256"))
    let nearest = try Summary(try builtin("upsample_conv_256"))
    #expect(transpose.output == [256, 112, 112] && nearest.output == [256, 112, 112])
    #expect(transpose.totals.params == 256 * 256 * 16)
    #expect(nearest.totals.params == 256 * 256 * 9)
    // Each input pixel spreads 16 taps per channel pair; the 3×3 runs at every one of 4× the positions.
    #expect(transpose.totals.macs == 56 * 56 * 256 * 256 * 16)
    #expect(nearest.totals.macs == 112 * 112 * 256 * 256 * 9)
  }
}
