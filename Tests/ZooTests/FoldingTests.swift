import Foundation
import Testing
import ZooAnalysis
import ZooFormat
import ZooGraph
import ZooRender

/// A fold a diagram claims: its first member's path and how many members it stands for.
private struct ClaimedFold: CustomStringConvertible {
  var first: String
  var count: Int
  var description: String { "\(first) × \(count)" }
}

/// Every `× N` a DOT text draws, for a box (`<b>layer3.1 – layer3.35</b><br/><b>bottleneck × 35</b>`)
/// or a cluster (`<b>a.denselayer1 – denselayer6</b> · dense_layer <b>× 6</b>`).
private func claimedFolds(_ dot: String) throws -> [ClaimedFold] {
  let box = try Regex(#"<b>([^<]+?) – [^<]+</b><br/><b>[^<]+ × (\d+)</b>"#)
  let cluster = try Regex(#"<b>([^<]+?) – [^<]+</b> · [^<]+ <b>× (\d+)</b>"#)
  var folds: [ClaimedFold] = []
  for r in [box, cluster] {
    for m in dot.matches(of: r) {
      let first = String(m.output[1].substring!)
      let count = Int(m.output[2].substring!)!
      folds.append(ClaimedFold(first: first, count: count))
    }
  }
  return folds
}

/// The sibling module rows starting at `first`: `count` of them, in graph order.
private func siblings(_ s: Summary, from first: String, count: Int) -> [Summary.Row] {
  func parent(_ p: String) -> String { p.lastIndex(of: ".").map { String(p[..<$0]) } ?? "" }
  let rows = s.rows.filter { $0.node == nil && parent($0.path) == parent(first) }
  guard let i = rows.firstIndex(where: { $0.path == first }) else { return [] }
  return Array(rows[i..<min(rows.count, i + count)])
}

@Suite struct FoldingTests {
  /// No diagram claims identity it does not have: every `× N` stands for N sibling modules with
  /// equal parameters, MACs, output shapes and layer counts, at the default depth and at each depth.
  @Test(arguments: try Zoo.builtin().modelNames)
  func everyTimesNFoldIsIdentical(_ name: String) throws {
    let summary = try Summary(builtin(name))
    for options in [DiagramOptions()] + (1...4).map({ DiagramOptions(depth: $0) }) {
      for fold in try claimedFolds(diagramDOT(summary, options: options)) {
        let rows = siblings(summary, from: fold.first, count: fold.count)
        try #require(rows.count == fold.count, "\(name): \(fold) names \(rows.count) modules")
        let a = rows[0]
        for b in rows.dropFirst() {
          #expect(
            b.counts.params == a.counts.params && b.counts.macs == a.counts.macs && b.output == a.output
              && b.nodes.count == a.nodes.count,
            "\(name): \(fold) folds \(b.path) (\(b.counts.params) params, \(b.output)) with \(a.path) (\(a.counts.params) params, \(a.output))"
          )
        }
      }
    }
  }

  /// The regular expressions above find the folds a diagram draws (else the test above checks nothing).
  @Test func foldsAreFound() throws {
    let folds = try claimedFolds(diagramDOT(try Summary(builtin("resnet152"))))
    #expect(folds.map(\.description).sorted() == ["layer1.1 × 2", "layer2.1 × 7", "layer3.1 × 35", "layer4.1 × 2"])
    let basic = try claimedFolds(diagramDOT(try Summary(builtin("resnet18"))))
    #expect(basic.map(\.description) == ["layer1.0 × 2"])
  }

  /// DenseNet's dense layers share a structure but not a size: the fold says how many, the range of
  /// their parameters and the channels they add, and draws the growth from entry to exit.
  @Test func denseLayersAreLabelledTruthfully() throws {
    let dot = diagramDOT(try Summary(builtin("densenet121")))
    #expect(!dot.contains("dense_layer <b>×"))
    #expect(
      dot.contains(
        "<b>features.denseblock1.denselayer1 – denselayer6</b> · <b>6 dense_layer blocks</b>, sizes differ"))
    // 64 channels in, 6 × 32 added: 256 out; conv1 grows from 64 to 224 input channels.
    #expect(dot.contains("45,440 – 66,240 params each; <b>channels 64 → 256, +32 each</b>"))
    #expect(dot.contains("<b>channels 512 → 1024, +32 each</b>"))
    #expect(dot.contains("sizes differ: one structure, other channels and parameters; the first drawn"))
    #expect(!dot.contains("identical blocks folded"))
  }

  /// Inception-v3's Mixed_5c and Mixed_5d differ only in their input channels (256 and 288), and
  /// SqueezeNet's fire2/fire3 likewise: neither run is called identical.
  @Test func inceptionAndFireRunsSayTheirSizesDiffer() throws {
    let inception = diagramDOT(try Summary(builtin("inception_v3")))
    #expect(inception.contains("<b>Mixed_5c – Mixed_5d</b><br/><b>2 inception_a blocks</b>, sizes differ"))
    #expect(inception.contains("channels 256 → 288 → 288"))
    let squeeze = diagramDOT(try Summary(builtin("squeezenet1_0")))
    #expect(squeeze.contains("2 fire blocks</b>, sizes differ"))
  }

  /// The legend lists only what the diagram shows: VGG-16 has no batch norm, so no `+ bn`.
  @Test func legendListsOnlyWhatAppears() throws {
    let vgg = diagramDOT(try Summary(builtin("vgg16")))
    #expect(!vgg.contains("+ bn"))
    #expect(vgg.contains("+ relu, + dropout: layers drawn in the node of the layer they follow"))
    #expect(!vgg.contains("× N"))
    #expect(!vgg.contains("normalisation"))
    let bn = diagramDOT(try Summary(builtin("vgg16_bn")))
    #expect(bn.contains("+ bn, + relu"))
  }
}
