import Testing
import ZooAnalysis
import ZooFormat
import ZooGraph

/// The built-in models, the arguments of the per-model tests; empty when the zoo does not load, which
/// ``InvariantTests/everyBuiltinModelIsListed()`` then reports with the loading error.
let allModels: [String] = (try? Zoo.builtin().modelNames) ?? []

@Suite("analyzer invariants")
struct InvariantTests {
  @Test func everyBuiltinModelIsListed() throws {
    #expect(try Zoo.builtin().modelNames == allModels)
    #expect(allModels.count == 58)
  }

  /// The figures `zoo list` reads from the binary are those of the models built now, with their files'
  /// families and papers, in order.
  @Test func storedListFiguresAreCurrent() throws {
    let zoo = try Zoo.builtin()
    let stored = Zoo.builtinFigures
    #expect(stored.map(\.model) == zoo.modelNames, "the stored figures are stale: run scripts/embed-zoo.sh")
    for file in zoo.files {
      for m in file.models {
        guard let f = stored.first(where: { $0.model == m.name }) else { continue }
        let s = try Summary(try file.graph(m))
        let now = BuiltinFigures(
          model: m.name, family: file.family, paper: file.paper, input: s.input, output: s.output,
          params: s.totals.params, macs: s.totals.macs)
        #expect(f == now, "\(m.name): stored \(f), built now \(now); run scripts/embed-zoo.sh")
      }
    }
  }

  /// The generated model index (which lets one model load without parsing every file) lists exactly the
  /// models the files define, in order, and finding a model through it gives the same entry as through
  /// the parsed zoo, for exact and loosely spelt names.
  @Test func modelIndexMatchesTheFiles() throws {
    let zoo = try Zoo.builtin()
    #expect(Zoo.builtinModelNames == zoo.modelNames, "the index is stale: run scripts/embed-zoo.sh")
    for name in zoo.modelNames + ["ResNet50", "MobileNet-V2", "wide_resnet50-2", "nosuch"] {
      let viaIndex = try Zoo.findBuiltin(name)
      let viaZoo = zoo.find(name)
      #expect(viaIndex?.0.path == viaZoo?.0.path, "\(name): found in different files")
      #expect(viaIndex?.1.name == viaZoo?.1.name, "\(name): found as different models")
    }
  }

  /// A module's counts are the sums of its layers'; the totals are the sums over all layers; every output
  /// dimension is at least 1; at batch 8 MACs and FLOPs are 8× and parameters unchanged.
  @Test(arguments: allModels)
  func sumsShapesAndBatch(_ name: String) throws {
    let s = try Summary(try builtin(name))
    var leafTotal = Counts()
    for row in s.rows where row.node != nil { try leafTotal.add(row.counts) }
    #expect(leafTotal == s.totals, "\(name): the layer rows do not add up to the totals")
    for row in s.rows where row.node == nil {
      var sum = Counts()
      for n in row.nodes { try sum.add(s.nodeCounts[n]) }
      #expect(sum == row.counts, "\(name): module \(row.path) is not the sum of its layers")
    }
    for (i, shape) in s.shapes.enumerated() {
      #expect(shape.allSatisfy { $0 >= 1 }, "\(name): \(s.graph.nodes[i].name) has an empty output \(shape)")
    }
    let b = try Summary(s.graph, batch: 8)
    #expect(b.totals.params == s.totals.params, "\(name): parameters must not scale with the batch")
    #expect(b.totals.macs == 8 * s.totals.macs && b.totals.flops == 8 * s.totals.flops, "\(name): batch scaling")
    // Names are unique and every node's inputs come before it.
    #expect(Set(s.graph.nodes.map(\.name)).count == s.graph.nodes.count, "\(name): duplicate node names")
    for node in s.graph.nodes { #expect(node.inputs.allSatisfy { $0 < node.id }, "\(name): \(node.name) order") }
  }

  /// Output length of a window sweep, counted by enumerating window positions (PyTorch's rules): in floor mode a
  /// window must lie inside the padded input; in ceil mode one more partial window is kept when it starts inside
  /// the input or the left padding.
  static func bruteForceWindows(n: Int, k: Int, s: Int, p: Int, d: Int, ceil: Bool) -> Int {
    let span = d * (k - 1) + 1
    let padded = n + 2 * p
    var count = 0
    var start = 0
    while start < padded + s {
      let end = start + span  // exclusive, in padded coordinates
      let inside = end <= padded
      let partialAllowed = ceil && end - padded < s && end > padded && start - p < n
      if inside || partialAllowed { count += 1 }
      start += s
    }
    return count
  }

  @Test func outputSizeFormulaMatchesBruteForce() {
    var checked = 0
    for n in 1...13 {
      for k in 1...5 {
        for s in 1...4 {
          for d in 1...3 {
            for p in 0...((d * (k - 1) + 1) / 2) {
              for ceil in [false, true] {
                let formula = max(windowOutputSize(n, kernel: k, stride: s, padding: p, dilation: d, ceilMode: ceil), 0)
                let brute = Self.bruteForceWindows(n: n, k: k, s: s, p: p, d: d, ceil: ceil)
                #expect(
                  formula == brute,
                  "n=\(n) k=\(k) s=\(s) p=\(p) d=\(d) ceil=\(ceil): formula \(formula), count \(brute)")
                checked += 1
              }
            }
          }
        }
      }
    }
    #expect(checked > 2000)
  }

  @Test func lectureNotesOutputSize() {
    #expect(windowOutputSize(5, kernel: 3, stride: 2, padding: 1) == 3)
    #expect(windowOutputSize(227, kernel: 11, stride: 4, padding: 0) == 55)
    #expect(windowOutputSize(112, kernel: 3, stride: 2, padding: 0, ceilMode: true) == 56, "GoogLeNet maxpool1")
  }

  @Test func fullyConvolutionalModelsAdaptToTheInput() throws {
    let s = try Summary(try builtin("resnet50"), input: [3, 320, 320])
    #expect(s.shapes[s.graph.nodes.first { $0.name == "layer4" + ".2.conv3" }!.id] == [2048, 10, 10])
    #expect(s.totals.params == 25_557_032)
    #expect(s.output == [1000])
  }
}
